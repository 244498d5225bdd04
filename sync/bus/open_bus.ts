import type { Bus } from "./bus.ts";
import type { BusLogger } from "./bus_logger.ts";
import { MemoryBus } from "./memory_bus.ts";

/** The configuration that picks the bus; a subset of `Config`. */
export interface BusConfig {
  REDIS_URL?: string;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_URLS, split). */
  REDIS_CLUSTER_URLS?: readonly string[];
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
}

/**
 * Opens the bus the configuration names: Redis over TCP for `REDIS_URL`, a Redis Cluster
 * (sharded pub/sub) for `REDIS_CLUSTER_URLS`, Upstash over REST for
 * `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN`, else the in-process bus of the
 * embedded default. A bus's client library is loaded only when that bus is opened.
 * @example
 * ```ts
 * const bus = await openBus({});
 * bus.kind; // "memory"
 * await bus.close();
 * ```
 */
export async function openBus(
  config: BusConfig,
  options: { logger?: BusLogger } = {},
): Promise<Bus> {
  if (config.REDIS_URL && config.UPSTASH_REDIS_REST_URL) {
    throw new Error("Set REDIS_URL or UPSTASH_REDIS_REST_URL, not both");
  }
  if (config.REDIS_CLUSTER_URLS?.length) {
    if (config.REDIS_URL || config.UPSTASH_REDIS_REST_URL) {
      throw new Error("Set one of REDIS_URL, REDIS_CLUSTER_URLS or UPSTASH_REDIS_REST_URL");
    }
    const { RedisClusterBus } = await import("./redis_cluster_bus.ts");
    return await RedisClusterBus.connect(config.REDIS_CLUSTER_URLS, options);
  }
  if (config.REDIS_URL) {
    const { RedisBus } = await import("./redis_bus.ts");
    return await RedisBus.connect(config.REDIS_URL, options);
  }
  if (config.UPSTASH_REDIS_REST_URL) {
    if (!config.UPSTASH_REDIS_REST_TOKEN) {
      throw new Error("UPSTASH_REDIS_REST_TOKEN must be set with UPSTASH_REDIS_REST_URL");
    }
    const { UpstashBus } = await import("./upstash_bus.ts");
    return new UpstashBus(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, options);
  }
  return new MemoryBus();
}
