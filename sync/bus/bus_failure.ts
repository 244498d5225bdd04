/** How the bus adapters word what went wrong. */

/** An error's message (or the thrown value as text), for logs and wrapped errors. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error a bus operation on `channel` rejects with: `<broker> <action> to "<channel>"
 * failed: <why>`, its cause kept.
 * @example busFailure("Redis", "publish", "sync:user:42", new Error("offline")).message
 * // 'Redis publish to "sync:user:42" failed: offline'
 */
export function busFailure(
  broker: string,
  action: "publish" | "subscribe",
  channel: string,
  error: unknown,
): Error {
  return new Error(`${broker} ${action} to "${channel}" failed: ${describe(error)}`, {
    cause: error,
  });
}
