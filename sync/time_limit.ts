/** What {@linkcode settledWithin} answers when `ms` passed first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * `promise`'s value, or TIMED_OUT when it has not settled within `ms`; its failure is
 * thrown. Never leaves a timer behind, and a failure after the time is up is absorbed
 * (the race has already subscribed to it), so a caller may give up and go on.
 */
export async function settledWithin<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
