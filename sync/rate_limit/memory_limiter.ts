import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { type Limiter, type Quota, secondsUntil, type Verdict } from "./limiter.ts";

/**
 * Budgets counted in this process only (rate-limiter-flexible's memory store): the
 * embedded default, and the insurance of the shared limiters while their store is away.
 */
export class MemoryLimiter implements Limiter {
  readonly kind = "memory";
  readonly #byQuota = new Map<string, RateLimiterMemory>();

  /** The rate-limiter-flexible limiter of one quota (one per distinct quota, made on first use). */
  limiterFor(quota: Quota): RateLimiterMemory {
    return limiterFor(this.#byQuota, quota, (q) =>
      new RateLimiterMemory({
        points: q.limit,
        duration: q.windowSeconds,
        keyPrefix: "",
      }));
  }

  async consume(key: string, quota: Quota): Promise<Verdict> {
    return await verdictOf(this.limiterFor(quota).consume(key));
  }

  close(): Promise<void> {
    this.#byQuota.clear();
    return Promise.resolve();
  }
}

/** The limiter of `quota` in `cache`, made with `make` the first time. */
export function limiterFor<T>(
  cache: Map<string, T>,
  quota: Quota,
  make: (quota: Quota) => T,
): T {
  const key = `${quota.limit}/${quota.windowSeconds}`;
  let limiter = cache.get(key);
  if (!limiter) cache.set(key, limiter = make(quota));
  return limiter;
}

/**
 * rate-limiter-flexible resolves an allowed consume and rejects a refused one with a
 * `RateLimiterRes`; anything else it rejects with is a store error, thrown on.
 */
export async function verdictOf(consumed: Promise<RateLimiterRes>): Promise<Verdict> {
  try {
    const res = await consumed;
    return {
      allowed: true,
      remaining: res.remainingPoints,
      resetSeconds: secondsUntil(res.msBeforeNext),
    };
  } catch (error) {
    if (!(error instanceof RateLimiterRes)) throw error;
    return { allowed: false, remaining: 0, resetSeconds: secondsUntil(error.msBeforeNext) };
  }
}
