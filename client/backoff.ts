/** Retry delays: exponential backoff with full jitter, and the server's `Retry-After`. */

export interface BackoffPolicy {
  /** The cap of the first delay. */
  baseMs: number;
  /** The cap of every delay. */
  maxMs: number;
}

/** 0.5 s, doubling, at most a minute: a blip heals at once, an outage costs little. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 60_000 };

/**
 * The delay before retry number `attempt` (0-based): uniform in [0, min(max, base·2^attempt))
 * ("full jitter"), so devices that lost the server together do not come back together.
 * A `Retry-After` from the server is a floor: never sooner than it asked.
 * @example backoffDelay(3, { baseMs: 500, maxMs: 60_000 }, () => 0.5) // 2000
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.floor(random() * cap);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/**
 * `Retry-After` in milliseconds from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3);
 * undefined when absent or unreadable.
 * @example parseRetryAfter("3", 0) // 3000
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // HTTP dates name a weekday and a month; Date.parse alone would read "-5" as a year.
  const date = /[A-Za-z]/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
