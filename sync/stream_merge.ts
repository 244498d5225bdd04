import type { Position } from "./cursor.ts";

/** What one pull read of one stream (a user's or a team's). */
export interface StreamRead<R extends { seq: number } = { seq: number }> {
  /** Where the device stood in this stream. */
  since: number;
  /** The stream's head, read before its rows: every change up to it had committed. */
  head: number;
  /** Its rows after `since` in sequence order, at most one more than a page holds. */
  rows: R[];
}

/** One page over both streams, with the position after each row and after the page. */
export interface MergedPage<R> {
  rows: { row: R; position: Position }[];
  position: Position;
  hasMore: boolean;
}

/**
 * Interleaves a user's stream and its team's into one page of at most `limit` rows, taking
 * from each in turn (neither starves the other; their collections never overlap, so their
 * relative order means nothing). Pure.
 *
 * must: each stream's rows are taken as a prefix in sequence order, and every position
 * moves a stream's part only past rows already in the page (before or at that row), so
 * resuming from any of them never skips a change of either stream; a later commit of a
 * stream always has a larger number than every row read of it. A part moves to its
 * stream's head (read before the rows) only when that stream had no row after `since`;
 * a stream whose rows did not fit keeps its part where it was.
 *
 * @example mergeStreams({ since: 0, head: 1, rows: [u1] }, { since: 0, head: 0, rows: [] }, 10)
 * // { rows: [{ row: u1, position: { user: 1, team: 0 } }], position: { user: 1, team: 0 }, hasMore: false }
 */
export function mergeStreams<R extends { seq: number }>(
  user: StreamRead<R>,
  team: StreamRead<R> | null,
  limit: number,
): MergedPage<R> {
  const other: StreamRead<R> = team ?? { since: 0, head: 0, rows: [] };
  const position: Position = { user: user.since, team: other.since };
  const rows: MergedPage<R>["rows"] = [];
  let [u, t] = [0, 0];
  while (rows.length < limit && (u < user.rows.length || t < other.rows.length)) {
    if (u < user.rows.length) {
      const row = user.rows[u++];
      position.user = row.seq;
      rows.push({ row, position: { ...position } });
    }
    if (rows.length < limit && t < other.rows.length) {
      const row = other.rows[t++];
      position.team = row.seq;
      rows.push({ row, position: { ...position } });
    }
  }
  if (user.rows.length === 0) position.user = Math.max(user.since, user.head);
  if (other.rows.length === 0) position.team = Math.max(other.since, other.head);
  const hasMore = u < user.rows.length || t < other.rows.length;
  return { rows, position, hasMore };
}
