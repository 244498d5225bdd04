import { z } from "zod";
import { AppError } from "./errors.ts";
import { sha256Hex } from "./hashing.ts";

const SEQ = "[0-9a-z]{1,11}";
const TAG = "[0-9a-f]{16}";
const STREAM_CURSOR = new RegExp(`^c1\\.(${SEQ})$`);
const TEAM_CURSOR = new RegExp(`^c2\\.(${SEQ})\\.(${SEQ})\\.(${TAG})$`);

/**
 * Every cursor this service hands out: `c1.<user seq>` for a user without team sync, and
 * `c2.<user seq>.<team seq>.<team tag>` for a member of a team (sequence numbers in base 36;
 * the tag names the team the team part counts, DESIGN.md §11).
 */
export const CURSOR_PATTERN = new RegExp(`^(c1\\.${SEQ}|c2\\.${SEQ}\\.${SEQ}\\.${TAG})$`);

/** A cursor in API answers (and its documented pattern). */
export const Cursor = z.string().regex(CURSOR_PATTERN).meta({
  description: "Opaque to clients; the service issues `c1.<base36 sequence>`, or " +
    "`c2.<base36>.<base36>.<tag>` for a member of a team",
  examples: ["c1.2s", "c2.2s.a.5f2b8c0d9e1a3b47"],
});

/** A pull's `since`: a cursor, or empty for "from the beginning". */
export const SinceCursor = z.string().regex(
  new RegExp(`^(c1\\.${SEQ}|c2\\.${SEQ}\\.${SEQ}\\.${TAG})?$`),
  "must be a cursor this service issued, or empty",
).meta({ description: "A cursor from an earlier answer; absent or empty: from the beginning" });

/**
 * Where a device stands in what it receives: the last change of its user's stream and of
 * its team's stream (0: none yet, or no team). Each stream numbers its changes in commit
 * order under its own owner's row lock, so a position never skips a later commit.
 */
export interface Position {
  user: number;
  team: number;
}

/** A cursor as a device sent it, read against the device's team. */
export interface Since extends Position {
  /**
   * The cursor counts another team's stream (the user left or changed team, or lost team
   * sync): the device holds items it may no longer hold, so it must resync from scratch.
   */
  expired: boolean;
}

/** The position before any change. */
export const START: Since = { user: 0, team: 0, expired: false };

/**
 * The cursor of a position, for a device whose team is `team` (null: none). Opaque to
 * clients: versioned, so the encoding can change without breaking stored cursors.
 * @example encodePosition({ user: 42, team: 0 }, null) === "c1.16"
 */
export function encodePosition(position: Position, team: string | null): string {
  if (team === null) return encodeCursor(position.user);
  return `c2.${position.user.toString(36)}.${position.team.toString(36)}.${teamTag(team)}`;
}

/**
 * Reads a device's cursor against its current team (null: none); a malformed one is a
 * `VALIDATION_FAILED` naming `field`. A `c1.` cursor holds no team item: for a member of a
 * team it is at the start of the team's stream. A `c2.` cursor of another team (or of a
 * team the user no longer syncs) is `expired`.
 */
export function decodeSince(cursor: string, team: string | null, field = "since"): Since {
  const single = STREAM_CURSOR.exec(cursor);
  if (single) return { user: toSeq(single[1], field), team: 0, expired: false };
  const double = TEAM_CURSOR.exec(cursor);
  if (!double) throw malformed(field);
  const user = toSeq(double[1], field);
  if (team === null || teamTag(team) !== double[3]) return { user, team: 0, expired: true };
  return { user, team: toSeq(double[2], field), expired: false };
}

/**
 * The cursor of one position in a single stream (`c1.<seq>`): what bus events carry, each
 * on its owner's channel (a user's or a team's), and what a user without a team is handed.
 * @example decodeCursor(encodeCursor(42)) === 42
 */
export function encodeCursor(seq: number): string {
  return `c1.${seq.toString(36)}`;
}

/** The sequence number of a single-stream cursor; anything else is a `VALIDATION_FAILED`. */
export function decodeCursor(cursor: string, field = "since"): number {
  const match = STREAM_CURSOR.exec(cursor);
  if (!match) throw malformed(field);
  return toSeq(match[1], field);
}

/**
 * Changes committed between two positions of the same device, counted per stream (for
 * progress reports).
 */
export function changesBetween(from: Position, to: Position): number {
  return Math.max(0, to.user - from.user) + Math.max(0, to.team - from.team);
}

/**
 * The tag of a team in its members' cursors: 64 bits of a hash of the team id, so a cursor
 * of another team is recognised (and answered 410) without storing anything per device.
 */
function teamTag(team: string): string {
  // A pull encodes one cursor per change, all for the same team: hash it once.
  if (team !== lastTag.team) {
    lastTag = { team, tag: sha256Hex(`devpocket.team:${team}`).slice(0, 16) };
  }
  return lastTag.tag;
}

let lastTag = { team: "", tag: "" };

function toSeq(base36: string, field: string): number {
  const seq = parseInt(base36, 36);
  if (!Number.isSafeInteger(seq)) throw malformed(field);
  return seq;
}

function malformed(field: string): AppError {
  return new AppError("VALIDATION_FAILED", `${field} is not a cursor this service issued`, {
    fields: { [field]: "malformed cursor" },
  });
}
