import { RateLimiterRedis } from "rate-limiter-flexible";
import type { RedisClient, RedisClusterClient } from "../kv_connection.ts";
import { type Limiter, type Quota, type Verdict } from "./limiter.ts";
import { limiterFor, MemoryLimiter, verdictOf } from "./memory_limiter.ts";

/**
 * Budgets shared by every instance through a Redis over TCP or a Redis Cluster: one atomic
 * script per check (rate-limiter-flexible's INCRBY + PTTL in Lua, on the master of the
 * key's slot). Keys are used as given, with no prefix, so the caller's `userKey()` /
 * `deviceKey()` names are the Redis keys. While Redis (or the master of a key) does not
 * answer, each instance counts in its own memory with the same budgets (the insurance
 * limiter): the deployment then admits up to N times a budget across N instances, rather
 * than either refusing everything (an API outage for a cache outage) or nothing (no
 * protection just when the system is weakest).
 *
 * The client must be created with `disableOfflineQueue: true` (kv_connection.ts does):
 * with the offline queue, commands wait for a reconnect that may never come and the
 * insurance never runs.
 */
export class RedisLimiter implements Limiter {
  readonly kind = "redis";
  readonly #byQuota = new Map<string, RateLimiterRedis>();
  readonly #insurance = new MemoryLimiter();

  constructor(readonly client: RedisClient | RedisClusterClient) {}

  async consume(key: string, quota: Quota): Promise<Verdict> {
    const limiter = limiterFor(this.#byQuota, quota, (q) =>
      new RateLimiterRedis({
        storeClient: this.client,
        // node-redis (v4 and later, its cluster client included): EVAL with {keys, arguments}.
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        points: q.limit,
        duration: q.windowSeconds,
        keyPrefix: "",
        insuranceLimiter: this.#insurance.limiterFor(q),
      }));
    return await verdictOf(limiter.consume(key));
  }

  async close(): Promise<void> {
    await this.#insurance.close();
  }
}
