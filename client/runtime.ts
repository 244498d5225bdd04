/**
 * The clock, timers and randomness the client uses, injectable so tests of backoff and
 * timing never sleep for real.
 * @module
 */

/** An opaque timer handle. */
export type TimerId = number;

export interface Runtime {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Uniform in [0, 1). */
  random(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** The real clock and `Math.random`. */
export const REAL_RUNTIME: Runtime = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerId,
  clearTimeout: (id) => clearTimeout(id),
};

/**
 * Waits `ms` on `runtime`'s timers; resolves early (never rejects) when `signal` aborts,
 * leaving no timer behind.
 */
export function sleep(runtime: Runtime, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      runtime.clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = runtime.setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}
