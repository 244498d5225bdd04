import { decodeCursor, encodePosition } from "../cursor.ts";
import type { SyncEvent } from "../events.ts";
import type { ServerMessage } from "./messages.ts";
import type { CollectionPolicy } from "./policy.ts";

/**
 * What one bus event means for one connected device: a message, closing its sockets (it
 * was deleted), re-checking its sockets' token (it registered again: only the sockets of
 * its old token close), asking it to reconnect (its team changed), or nothing.
 */
export type Delivery =
  | { kind: "send"; message: ServerMessage }
  | { kind: "revoke" }
  | { kind: "recheck" }
  | { kind: "reconnect" }
  | null;

/**
 * Which channel an event came from, and the team the receiving socket syncs: a
 * `changes` cursor counts that channel's stream (cursor.ts), and the device is handed the
 * cursor of that position with 0 for its other stream, as its pushes are answered.
 */
export interface EventSource {
  /** The team channel the event came from; null for the user's own channel. */
  teamChannel: string | null;
  /** The team the receiving socket syncs (sync/teams.ts `syncedTeam`). */
  team: string | null;
}

const USER_CHANNEL: EventSource = { teamChannel: null, team: null };

/** Whether `eventMessage` needs the user's collection policy for this event. */
export function needsPolicy(event: SyncEvent): boolean {
  return event.type === "changes" || event.type === "conflict";
}

/**
 * Maps a bus event to what the hub does for one device ({@link Delivery}). A device is never told about itself, and never
 * about collections its policy leaves out, nor of a team it does not sync. Unknown event
 * types (from a newer instance) are nothing: events are hints.
 * @example eventMessage({ type: "ack", device_id: "a", cursor: "c1.2" }, "b", null)
 * // { kind: "send", message: { type: "sync_completed", device_id: "a", cursor: "c1.2" } }
 */
export function eventMessage(
  event: SyncEvent,
  deviceId: string,
  policy: CollectionPolicy | null,
  source: EventSource = USER_CHANNEL,
): Delivery {
  const allowed = (): ReadonlySet<string> => policy?.(deviceId) ?? new Set();
  if (source.teamChannel !== null) {
    // A team's channel carries its items' changes only, for the sockets of that team.
    if (event.type !== "changes" || source.teamChannel !== source.team) return null;
  }
  switch (event.type) {
    case "changes": {
      // The pusher learnt the cursor from its push response.
      if (event.origin_device_id === deviceId) return null;
      const collections = event.collections.filter((c) => allowed().has(c));
      if (collections.length === 0) return null;
      const cursor = deviceCursor(event.cursor, source);
      if (cursor === null) return null;
      return {
        kind: "send",
        message: {
          type: "sync_data_available",
          cursor,
          collections,
          origin_device_id: event.origin_device_id,
        },
      };
    }
    case "team_changed":
      return event.team_id === source.team ? null : { kind: "reconnect" };
    case "conflict":
      if (!allowed().has(event.collection)) return null;
      return {
        kind: "send",
        message: {
          type: "sync_conflict",
          conflict_id: event.conflict_id,
          collection: event.collection,
          item_id: event.item_id,
        },
      };
    case "device":
      if (event.device_id !== deviceId) {
        return {
          kind: "send",
          message: { type: "device_status", device_id: event.device_id, status: event.status },
        };
      }
      return event.status === "revoked" ? { kind: "revoke" } : null;
    case "token_replaced":
      return event.device_id === deviceId ? { kind: "recheck" } : null;
    case "ack":
      if (event.device_id === deviceId) return null;
      return {
        kind: "send",
        message: { type: "sync_completed", device_id: event.device_id, cursor: event.cursor },
      };
    default:
      return null;
  }
}

/** The device's cursor for an event's single-stream cursor; null when it is malformed. */
function deviceCursor(cursor: string, source: EventSource): string | null {
  if (source.team === null) return cursor;
  let seq: number;
  try {
    seq = decodeCursor(cursor);
  } catch {
    return null;
  }
  const position = source.teamChannel === null ? { user: seq, team: 0 } : { user: 0, team: seq };
  return encodePosition(position, source.team);
}
