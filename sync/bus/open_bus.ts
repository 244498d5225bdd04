import type { Bus } from "./bus.ts";
import type { BusLogger } from "./bus_logger.ts";
import { MemoryBus } from "./memory_bus.ts";
import { RedisBus } from "./redis_bus.ts";
import { UpstashBus } from "./upstash_bus.ts";

/** The configuration that picks the bus; a subset of `Config`. */
export interface BusConfig {
  REDIS_URL?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
}

/**
 * Opens the bus the configuration names: Redis over TCP for `REDIS_URL`, Upstash over
 * REST for `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN`, else the in-process
 * bus of the embedded default.
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
  if (config.REDIS_URL) return await RedisBus.connect(config.REDIS_URL, options);
  if (config.UPSTASH_REDIS_REST_URL) {
    if (!config.UPSTASH_REDIS_REST_TOKEN) {
      throw new Error("UPSTASH_REDIS_REST_TOKEN must be set with UPSTASH_REDIS_REST_URL");
    }
    return new UpstashBus(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, options);
  }
  return new MemoryBus();
}
