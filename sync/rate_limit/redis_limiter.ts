import { RateLimiterRedis } from "rate-limiter-flexible";
import type { RedisClient } from "../kv_connection.ts";
import { type Limiter, type Quota, type Verdict } from "./limiter.ts";
import { limiterFor, MemoryLimiter, verdictOf } from "./memory_limiter.ts";

/**
 * Budgets shared by every instance through a Redis over TCP: one atomic script per check
 * (rate-limiter-flexible's INCRBY + PTTL in Lua). While Redis does not answer, each
 * instance counts in its own memory with the same budgets (the insurance limiter): the
 * deployment then admits up to N times a budget across N instances, rather than either
 * refusing everything (an API outage for a cache outage) or nothing (no protection just
 * when the system is weakest).
 *
 * The client must be created with `disableOfflineQueue: true`: with the offline queue,
 * commands wait for a reconnect that may never come and the insurance never runs.
 */
export class RedisLimiter implements Limiter {
  readonly kind = "redis";
  readonly #byQuota = new Map<string, RateLimiterRedis>();
  readonly #insurance: MemoryLimiter;

  constructor(readonly client: RedisClient, readonly keyPrefix = "devpocket:rl") {
    this.#insurance = new MemoryLimiter(keyPrefix);
  }

  async consume(key: string, quota: Quota): Promise<Verdict> {
    const limiter = limiterFor(this.#byQuota, quota, (q) =>
      new RateLimiterRedis({
        storeClient: this.client,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        points: q.limit,
        duration: q.windowSeconds,
        keyPrefix: this.keyPrefix,
        insuranceLimiter: this.#insurance.limiterFor(q),
      }));
    return await verdictOf(limiter.consume(key));
  }

  async close(): Promise<void> {
    await this.#insurance.close();
  }
}
