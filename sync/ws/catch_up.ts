import type { SyncCache } from "../cache/sync_cache.ts";
import { changesBetween, encodePosition, type Position, type Since } from "../cursor.ts";
import { AppError } from "../errors.ts";
import type { PullPage, SyncStore } from "../sync_store.ts";
import { TEAM_COLLECTION, teamOwner } from "../teams.ts";
import type { Connection } from "./connection.ts";
import type { ServerMessage } from "./messages.ts";
import type { CollectionPolicy } from "./policy.ts";

/** How many changed items a catch-up looks at, per stream, to name the collections that changed. */
const CATCH_UP_SCAN = 500;

/** The device a catch-up is for: its user, and the team whose items it receives (or none). */
export interface CatchUpTarget {
  userId: string;
  deviceId: string;
  team: string | null;
}

/** Who a connection's catch-up is for. */
export function catchUpTarget(connection: Connection): CatchUpTarget {
  return { userId: connection.userId, deviceId: connection.deviceId, team: connection.team };
}

/**
 * The `sync_data_available` a device should get on `hello`, or null when it is not behind
 * in any collection it receives. The cursor is the heads of its streams (the user's, and
 * its team's); the collections are those of the changes after `since` this device
 * receives (all it receives when there are more than the scan looks at, or when `since`
 * predates compaction or counts another team, so that it must pull from zero: its pull
 * then answers 410). `origin_device_id` is set only when one device made every change seen. A `since` past a
 * head was never issued (DESIGN.md §3, as for a pull): `VALIDATION_FAILED`. The heads read
 * are recorded in `cache`, as a pull's are.
 */
export async function catchUp(
  store: SyncStore,
  policy: CollectionPolicy,
  who: CatchUpTarget,
  since: Since,
  cache?: SyncCache | null,
): Promise<(ServerMessage & { type: "sync_data_available" }) | null> {
  const allowed = [...policy(who.deviceId)].filter((c) =>
    who.team !== null || c !== TEAM_COLLECTION
  );
  const read = (owner: string, from: number, teamStream: boolean) =>
    store.pull(
      owner,
      from,
      allowed.filter((c) => (c === TEAM_COLLECTION) === teamStream),
      CATCH_UP_SCAN + 1,
      { withData: false },
    );
  const [mine, theirs] = await Promise.all([
    read(who.userId, since.user, false),
    who.team === null ? null : read(teamOwner(who.team), since.team, true),
  ]);
  cache?.advance(who.userId, mine.head).catch(() => {});
  if (theirs && who.team) cache?.advance(teamOwner(who.team), theirs.head).catch(() => {});
  if (!since.expired && (since.user > mine.head || since.team > (theirs?.head ?? 0))) {
    // A cursor from the future would hide every change until the sequences caught up.
    throw new AppError("VALIDATION_FAILED", "cursor is not a cursor this service issued", {
      fields: { cursor: "is past the newest change" },
    });
  }
  const heads: Position = { user: mine.head, team: theirs?.head ?? 0 };
  const expired = since.expired || purged(since.user, mine) ||
    (theirs !== null && purged(since.team, theirs));
  const rows = [...mine.rows, ...(theirs?.rows ?? [])];
  if (!expired && (changesBetween(since, heads) === 0 || rows.length === 0)) return null;
  const partial = expired || mine.rows.length > CATCH_UP_SCAN ||
    (theirs?.rows.length ?? 0) > CATCH_UP_SCAN;
  const seen = new Set(rows.map((row) => row.collection));
  const origins = new Set(rows.map((row) => row.device_id));
  return {
    type: "sync_data_available",
    cursor: encodePosition(heads, who.team),
    // Listed in the contract's collection order, so the hint is stable.
    collections: allowed.filter((c) => partial || seen.has(c)),
    origin_device_id: !partial && origins.size === 1 ? [...origins][0] : null,
  };
}

/** A catch-up at least this many changes long is reported with `sync_progress`. */
export const PROGRESS_MIN_CHANGES = 500;

/**
 * Progress of a catch-up, counted in committed changes (of both streams) between the hello
 * cursor and the heads it was told of. A pull returns each item once at its latest
 * version, so `done` may jump: it reaches `total` when the device acks the heads.
 */
export function catchUpProgress(
  run: { since: Position; target: Position },
  acked: Position,
): ServerMessage {
  const total = changesBetween(run.since, run.target);
  const done = Math.min(changesBetween(run.since, acked), total);
  return { type: "sync_progress", operation: "catch_up", done, total };
}

function purged(since: number, page: PullPage): boolean {
  return since > 0 && since < page.purgedSeq;
}
