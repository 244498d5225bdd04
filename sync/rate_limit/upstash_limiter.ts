import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import { type Limiter, type Quota, secondsUntil, type Verdict } from "./limiter.ts";
import { limiterFor, MemoryLimiter } from "./memory_limiter.ts";
import type { Logger } from "../logger.ts";

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
  #fallingBack = false;

  constructor(
    readonly redis: Redis,
    readonly logger?: Logger,
    readonly keyPrefix = "devpocket:rl",
    readonly clock: () => number = Date.now,
  ) {
    this.#insurance = new MemoryLimiter();
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
        this.#fallingBack = false;
        return {
          allowed: result.success,
          remaining: Math.max(0, result.remaining),
          resetSeconds: secondsUntil(result.reset - this.clock()),
        };
      }
    } catch (error) {
      // Once per outage: counted below, on this instance only.
      if (!this.#fallingBack) {
        this.logger?.warn("Upstash rate limits unavailable: counting per instance", {
          error: String(error),
        });
      }
      this.#fallingBack = true;
      return await this.#insurance.consume(key, quota);
    }
    return await this.#insurance.consume(key, quota);
  }

  async close(): Promise<void> {
    await this.#insurance.close();
  }
}
