/**
 * Counts the `AbortSignal.timeout` timers armed while `fn` runs: node-redis arms one per
 * command unless its clients say otherwise (sync/bus/node_redis.ts, UNTIMED_COMMANDS).
 */
export async function abortTimeoutsArmed(fn: () => Promise<unknown>): Promise<number> {
  const original = AbortSignal.timeout;
  let armed = 0;
  AbortSignal.timeout = (ms: number) => (armed++, original.call(AbortSignal, ms));
  try {
    await fn();
  } finally {
    AbortSignal.timeout = original;
  }
  return armed;
}
