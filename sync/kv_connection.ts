import { Redis as UpstashRedis } from "@upstash/redis";
import { createClient } from "redis";
import { ReconnectClock } from "./bus/node_redis.ts";
import type { Logger } from "./logger.ts";

/** A node-redis client as the limiter and the caches use it. */
export type RedisClient = ReturnType<typeof newClient>;

/**
 * The key-value store behind rate limits and caches: the deployment's Redis (TCP or
 * Upstash REST), or none in the embedded default. Separate from the bus's connections, so
 * a burst of checks never queues behind a publish.
 */
export type KvConnection =
  | { kind: "redis"; client: RedisClient; close(): Promise<void> }
  | { kind: "upstash"; redis: UpstashRedis; close(): Promise<void> }
  | { kind: "none"; close(): Promise<void> };

/** How long start-up waits for Redis before going on (checks fall back meanwhile). */
const CONNECT_WAIT_MS = 2_000;

/**
 * Opens the connection the configuration names. A TCP Redis that does not answer within
 * two seconds does not stop start-up: the client keeps reconnecting in the background and
 * every check falls back to this instance's memory until it is back.
 */
export async function openKvConnection(
  config: {
    REDIS_URL?: string;
    UPSTASH_REDIS_REST_URL?: string;
    UPSTASH_REDIS_REST_TOKEN?: string;
  },
  logger: Logger,
): Promise<KvConnection> {
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    const redis = new UpstashRedis({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      enableTelemetry: false,
      // One retry: a check that waits on backoff holds its request; the fallback is better.
      retry: { retries: 1, backoff: () => 50 },
    });
    return { kind: "upstash", redis, close: () => Promise.resolve() };
  }
  if (!config.REDIS_URL) return { kind: "none", close: () => Promise.resolve() };
  const reconnects = new ReconnectClock();
  const client = newClient(config.REDIS_URL, reconnects);
  let warned = false;
  client.on("error", (error: unknown) => {
    // Once per outage: every failed reconnect attempt emits one.
    if (!warned) logger.warn("Redis for limits and caches unavailable", { error: String(error) });
    warned = true;
  });
  client.on("ready", () => warned = false);
  const connecting = client.connect();
  connecting.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    connecting,
    new Promise((resolve) => timer = setTimeout(resolve, CONNECT_WAIT_MS)),
  ]).catch(() => {});
  clearTimeout(timer);
  return {
    kind: "redis",
    client,
    async close() {
      client.destroy();
      await reconnects.settled();
    },
  };
}

function newClient(url: string, reconnects: ReconnectClock) {
  return createClient({
    url,
    // must: with the offline queue a check waits for a reconnect that may never come, and
    // the insurance limiter never runs.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_WAIT_MS,
      reconnectStrategy: reconnects.strategy,
    },
  });
}
