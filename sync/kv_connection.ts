import type { Redis as UpstashRedis } from "@upstash/redis";
import { abortableSleep } from "./abortable_sleep.ts";
import { backoffDelay, DEFAULT_BACKOFF } from "./bus/backoff.ts";
import { ReconnectClock, UNTIMED_COMMANDS } from "./bus/node_redis.ts";
import type { createClusterClient } from "./bus/redis_cluster_bus.ts";
import type { Logger } from "./logger.ts";
import { settledWithin } from "./time_limit.ts";

/** A node-redis client of one Redis, as the limiter and the caches use it. */
export type RedisClient = Awaited<ReturnType<typeof newClient>>;
/** node-redis's Redis Cluster client, as the limiter and the caches use it. */
export type RedisClusterClient = ReturnType<typeof createClusterClient>;

/**
 * The key-value store behind rate limits and caches: the deployment's Redis (TCP, a Redis
 * Cluster, or Upstash REST), or none in the embedded default. Separate from the bus's
 * connections, so a burst of checks never queues behind a publish. Every key its users
 * write is named with `userKey()` / `deviceKey()` (redis_keys.ts), so one user's keys
 * share a cluster slot and a command over them never spans masters.
 */
export type KvConnection =
  | { kind: "redis"; client: RedisClient; close(): Promise<void> }
  | { kind: "redis-cluster"; client: RedisClusterClient; close(): Promise<void> }
  | { kind: "upstash"; redis: UpstashRedis; close(): Promise<void> }
  | { kind: "none"; close(): Promise<void> };

/** How long start-up waits for Redis before going on (checks fall back meanwhile). */
const CONNECT_WAIT_MS = 2_000;

/**
 * Opens the connection the configuration names; each client library is loaded only when
 * named (node-redis alone holds about 25MB of the embedded default's memory). A Redis (or a
 * cluster) that does not answer within two seconds does not stop start-up: the client keeps
 * connecting in the background and every check falls back to this instance's memory until
 * it answers.
 */
export async function openKvConnection(
  config: {
    REDIS_URL?: string;
    REDIS_CLUSTER_URLS?: readonly string[];
    UPSTASH_REDIS_REST_URL?: string;
    UPSTASH_REDIS_REST_TOKEN?: string;
  },
  logger: Logger,
): Promise<KvConnection> {
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    const { Redis: UpstashRedis } = await import("@upstash/redis");
    const redis = new UpstashRedis({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      enableTelemetry: false,
      // One retry: a check that waits on backoff holds its request; the fallback is better.
      retry: { retries: 1, backoff: () => 50 },
    });
    return { kind: "upstash", redis, close: () => Promise.resolve() };
  }
  if (config.REDIS_CLUSTER_URLS?.length) {
    return await openCluster(config.REDIS_CLUSTER_URLS, logger);
  }
  if (!config.REDIS_URL) return { kind: "none", close: () => Promise.resolve() };
  const reconnects = new ReconnectClock();
  const client = await newClient(config.REDIS_URL, reconnects);
  const outage = outageWarning(logger);
  client.on("error", outage.began);
  client.on("ready", outage.ended);
  await waitAtMost(client.connect());
  return {
    kind: "redis",
    client,
    async close() {
      client.destroy();
      await reconnects.settled();
    },
  };
}

/**
 * A cluster client, connected in the background: node-redis gives up on a first connect
 * that finds no seed node (unlike a lost node, which it redials by itself), so that one
 * is retried here with the same backoff until it succeeds or the connection is closed.
 */
async function openCluster(urls: readonly string[], logger: Logger): Promise<KvConnection> {
  const { createClusterClient } = await import("./bus/redis_cluster_bus.ts");
  const reconnects = new ReconnectClock();
  const client = createClusterClient(urls, reconnects.strategy);
  const outage = outageWarning(logger);
  // An 'error' event without a listener would crash the process.
  client.on("error", outage.began);
  client.on("node-error", outage.began);
  client.on("node-ready", outage.ended);
  const closing = new AbortController();
  const connected = (async () => {
    for (let attempt = 0; !closing.signal.aborted; attempt++) {
      try {
        return await client.connect();
      } catch (error) {
        outage.began(error);
        await abortableSleep(backoffDelay(attempt, DEFAULT_BACKOFF), closing.signal);
      }
    }
  })();
  await waitAtMost(connected);
  return {
    kind: "redis-cluster",
    client,
    async close() {
      closing.abort();
      client.destroy();
      await connected;
      await reconnects.settled();
    },
  };
}

async function newClient(url: string, reconnects: ReconnectClock) {
  const { createClient } = await import("redis");
  return createClient({
    url,
    // must: with the offline queue a check waits for a reconnect that may never come, and
    // the insurance limiter never runs.
    disableOfflineQueue: true,
    commandOptions: UNTIMED_COMMANDS,
    socket: {
      connectTimeout: CONNECT_WAIT_MS,
      reconnectStrategy: reconnects.strategy,
    },
  });
}

/** Warns once per outage: every failed reconnect attempt emits an error. */
function outageWarning(logger: Logger) {
  let warned = false;
  return {
    began(error: unknown) {
      if (!warned) logger.warn("Redis for limits and caches unavailable", { error: String(error) });
      warned = true;
    },
    ended() {
      warned = false;
    },
  };
}

/** Waits for `connecting` at most CONNECT_WAIT_MS; its failure is the client's to retry. */
async function waitAtMost(connecting: Promise<unknown>): Promise<void> {
  await settledWithin(connecting, CONNECT_WAIT_MS).catch(() => {});
}
