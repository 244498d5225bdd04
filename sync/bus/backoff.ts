/** How long to wait between reconnect attempts: exponential, capped, with jitter. */
export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** Upper bound of every delay. */
  maxMs: number;
}

/** 100 ms, doubling, at most 5 s: a blip heals at once, an outage costs little. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5_000 };

/**
 * The delay before retry number `attempt` (0-based). Between half and all of the
 * exponential value, so instances that lost the broker together do not return together.
 * @example backoffDelay(0, { initialMs: 100, maxMs: 5000 }) // 50..100
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const exponential = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(exponential / 2 + Math.random() * (exponential / 2));
}
