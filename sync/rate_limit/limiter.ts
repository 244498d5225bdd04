/** A budget: at most `limit` requests per `windowSeconds`. */
export interface Quota {
  limit: number;
  windowSeconds: number;
}

/** What one counted request left of its budget. */
export interface Verdict {
  allowed: boolean;
  /** Requests left in the current window (0 once refused). */
  remaining: number;
  /** Whole seconds until the window resets and the budget is whole again. */
  resetSeconds: number;
}

/**
 * Counts requests against per-key budgets. Implementations share the counts across
 * instances (Redis, Upstash) or keep them per process (memory).
 */
export interface Limiter {
  readonly kind: "memory" | "redis" | "upstash";
  /**
   * Counts one request of `key` against `quota`. Never rejects for the store's sake: when
   * a shared store does not answer, the count falls back to this instance's memory.
   */
  consume(key: string, quota: Quota): Promise<Verdict>;
  close(): Promise<void>;
}

/** The seconds to announce for a window that resets in `ms` (at least 1 while counting). */
export function secondsUntil(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
