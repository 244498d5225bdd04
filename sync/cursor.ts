import { AppError } from "./errors.ts";

const PREFIX = "c1.";

/**
 * Cursors are opaque to clients: a versioned wrapper around the user's change sequence
 * number, so the encoding can change without breaking devices that stored one.
 * @example decodeCursor(encodeCursor(42)) === 42
 */
export function encodeCursor(seq: number): string {
  return PREFIX + seq.toString(36);
}

/** The sequence number in a cursor; a malformed cursor is a `VALIDATION_FAILED`. */
export function decodeCursor(cursor: string, field = "since"): number {
  const body = cursor.startsWith(PREFIX) ? cursor.slice(PREFIX.length) : "";
  const seq = /^[0-9a-z]{1,11}$/.test(body) ? parseInt(body, 36) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new AppError("VALIDATION_FAILED", `${field} is not a cursor this service issued`, {
      fields: { [field]: "malformed cursor" },
    });
  }
  return seq;
}
