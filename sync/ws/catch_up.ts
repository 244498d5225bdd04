import type { SyncCache } from "../cache/sync_cache.ts";
import { encodeCursor } from "../cursor.ts";
import { AppError } from "../errors.ts";
import type { SyncStore } from "../sync_store.ts";
import type { ServerMessage } from "./messages.ts";
import type { CollectionPolicy } from "./policy.ts";

/** How many changed items a catch-up looks at to name the collections that changed. */
const CATCH_UP_SCAN = 500;

/**
 * The `sync_data_available` a device should get on `hello`, or null when it is not behind
 * in any collection it receives. The cursor is the user's head; the collections are those
 * of the changes after `since` this device receives (all it receives when there are more
 * than the scan looks at, or when `since` predates compaction and it must pull from zero).
 * `origin_device_id` is set only when one device made every change seen. A `since` past
 * the head was never issued (DESIGN.md §3, as for a pull): `VALIDATION_FAILED`. The head
 * read is recorded in `cache`, as a pull's is.
 */
export async function catchUp(
  store: SyncStore,
  policy: CollectionPolicy,
  who: { userId: string; deviceId: string },
  since: number,
  cache?: SyncCache | null,
): Promise<(ServerMessage & { type: "sync_data_available" }) | null> {
  const allowed = [...policy(who.deviceId)];
  const page = await store.pull(who.userId, since, allowed, CATCH_UP_SCAN + 1, {
    withData: false,
  });
  cache?.advance(who.userId, page.head).catch(() => {});
  if (since > page.head) {
    // A cursor from the future would hide every change until the sequence caught up.
    throw new AppError("VALIDATION_FAILED", "cursor is not a cursor this service issued", {
      fields: { cursor: "is past the newest change" },
    });
  }
  if (page.head === since) return null;
  const expired = since > 0 && since < page.purgedSeq;
  if (!expired && page.rows.length === 0) return null;
  const partial = expired || page.rows.length > CATCH_UP_SCAN;
  const seen = new Set(page.rows.map((row) => row.collection));
  const origins = new Set(page.rows.map((row) => row.device_id));
  return {
    type: "sync_data_available",
    cursor: encodeCursor(page.head),
    // Listed in the contract's collection order, so the hint is stable.
    collections: allowed.filter((c) => partial || seen.has(c)),
    origin_device_id: !partial && origins.size === 1 ? [...origins][0] : null,
  };
}

/**
 * True when the cache knows `since` to be the user's head: nothing committed after it, so
 * a `hello` there needs no query. A cached head is never ahead of a commit (SyncCache), so
 * equal means nothing new; one it does not know yet is an event still on its way, which
 * reaches the socket live. An unreachable cache is a miss.
 */
export async function atCachedHead(
  cache: SyncCache | null | undefined,
  userId: string,
  since: number,
): Promise<boolean> {
  if (!cache || since === 0) return false;
  return await cache.head(userId).catch(() => null) === since;
}

/** A catch-up at least this many changes long is reported with `sync_progress`. */
export const PROGRESS_MIN_CHANGES = 500;

/**
 * Progress of a catch-up, counted in committed changes between the hello cursor and the
 * head it was told of. A pull returns each item once at its latest version, so `done` may
 * jump: it reaches `total` when the device acks the head.
 */
export function catchUpProgress(
  run: { since: number; target: number },
  acked: number,
): ServerMessage {
  const total = run.target - run.since;
  const done = Math.min(Math.max(acked - run.since, 0), total);
  return { type: "sync_progress", operation: "catch_up", done, total };
}
