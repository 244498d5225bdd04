/** Small numeric helpers shared by the benchmarks. */

/** The `p`-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** Milliseconds `fn` took. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it answers true; false once `timeoutMs` passed. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 20,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return await check();
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `n` with thousands separators, no decimals. */
export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : String(n);
}

/** A ratio as `0.83x`. */
export function ratio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}x` : "n/a";
}

/**
 * Calls `send(i)` on schedule, `perSecond` for `seconds`, without waiting for answers (open
 * loop), holding back while `maxInFlight` calls are unanswered. Bounded: once the schedule
 * has had 50 % more time than it needs it stops sending. Resolves when every call settled,
 * with how many were sent and the ms from the first send to the last settlement.
 */
export async function openLoop(
  perSecond: number,
  seconds: number,
  maxInFlight: number,
  send: (i: number) => Promise<unknown>,
): Promise<{ sent: number; elapsedMs: number }> {
  const count = perSecond * seconds;
  const pending = new Set<Promise<unknown>>();
  const start = performance.now();
  const stopAt = start + seconds * 1500;
  let sent = 0;
  while (sent < count && performance.now() < stopAt) {
    const due = Math.min(count, Math.floor((performance.now() - start) * perSecond / 1000) + 1);
    while (sent < due && pending.size < maxInFlight) {
      const call: Promise<unknown> = send(sent++).catch(() => {}).finally(() =>
        pending.delete(call)
      );
      pending.add(call);
    }
    await sleep(1);
  }
  await Promise.all(pending);
  return { sent, elapsedMs: performance.now() - start };
}
