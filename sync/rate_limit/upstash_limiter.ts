import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import { type Limiter, type Quota, secondsUntil, type Verdict } from "./limiter.ts";
import { limiterFor, MemoryLimiter } from "./memory_limiter.ts";

/** How long a check waits for Upstash before this instance counts on its own. */
const UPSTASH_TIMEOUT_MS = 1_000;

/**
 * Budgets shared through Upstash Redis over REST (@upstash/ratelimit, fixed windows, one
 * script per check). As with {@linkcode RedisLimiter}, an error or a timeout falls back to
 * this instance's memory with the same budgets; @upstash/ratelimit's own timeout would
 * let the request through uncounted, so its answer "timeout" is treated as an outage too.
 */
export class UpstashLimiter implements Limiter {
  readonly kind = "upstash";
  readonly #byQuota = new Map<string, Ratelimit>();
  readonly #insurance: MemoryLimiter;

  constructor(
    readonly redis: Redis,
    readonly keyPrefix = "devpocket:rl",
    readonly clock: () => number = Date.now,
  ) {
    this.#insurance = new MemoryLimiter(keyPrefix);
  }

  async consume(key: string, quota: Quota): Promise<Verdict> {
    const limiter = limiterFor(this.#byQuota, quota, (q) =>
      new Ratelimit({
        redis: this.redis,
        limiter: Ratelimit.fixedWindow(q.limit, `${q.windowSeconds} s`),
        prefix: this.keyPrefix,
        timeout: UPSTASH_TIMEOUT_MS,
        analytics: false,
      }));
    try {
      const result = await limiter.limit(key);
      if (result.reason !== "timeout") {
        return {
          allowed: result.success,
          remaining: Math.max(0, result.remaining),
          resetSeconds: secondsUntil(result.reset - this.clock()),
        };
      }
    } catch {
      // Upstash did not answer: counted below, on this instance only.
    }
    return await this.#insurance.consume(key, quota);
  }

  async close(): Promise<void> {
    await this.#insurance.close();
  }
}
