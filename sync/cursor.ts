import { z } from "zod";
import { AppError } from "./errors.ts";

const PREFIX = "c1.";

/** Every cursor this service hands out: `c1.` and the sequence number in base 36. */
export const CURSOR_PATTERN = /^c1\.[0-9a-z]{1,11}$/;

/** A cursor in API answers (and its documented pattern). */
export const Cursor = z.string().regex(CURSOR_PATTERN).meta({
  description: "Opaque to clients; the service issues `c1.<base36 sequence>`",
  examples: ["c1.2s"],
});

/** A pull's `since`: a cursor, or empty for "from the beginning". */
export const SinceCursor = z.string().regex(
  /^(c1\.[0-9a-z]{1,11})?$/,
  "must be a cursor this service issued (c1.<base36>), or empty",
).meta({ description: "A cursor from an earlier answer; absent or empty: from the beginning" });

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
  const seq = CURSOR_PATTERN.test(cursor) ? parseInt(cursor.slice(PREFIX.length), 36) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new AppError("VALIDATION_FAILED", `${field} is not a cursor this service issued`, {
      fields: { [field]: "malformed cursor" },
    });
  }
  return seq;
}
