import { encodeCursor } from "../cursor.ts";
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
 * `origin_device_id` is set only when one device made every change seen.
 */
export async function catchUp(
  store: SyncStore,
  policy: CollectionPolicy,
  who: { userId: string; deviceId: string },
  since: number,
): Promise<(ServerMessage & { type: "sync_data_available" }) | null> {
  const allowed = [...policy(who.deviceId)];
  const page = await store.pull(who.userId, since, allowed, CATCH_UP_SCAN + 1, {
    withData: false,
  });
  if (page.head <= since) return null;
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
