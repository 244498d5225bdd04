import type { SyncEvent } from "../events.ts";
import type { ServerMessage } from "./messages.ts";
import type { CollectionPolicy } from "./policy.ts";

/**
 * What one bus event means for one connected device: a message, closing its sockets (it
 * was deleted), re-checking its sockets' token (it registered again: only the sockets of
 * its old token close), or nothing.
 */
export type Delivery =
  | { kind: "send"; message: ServerMessage }
  | { kind: "revoke" }
  | { kind: "recheck" }
  | null;

/** Whether `eventMessage` needs the user's collection policy for this event. */
export function needsPolicy(event: SyncEvent): boolean {
  return event.type === "changes" || event.type === "conflict";
}

/**
 * Maps a bus event to what the hub does for one device ({@link Delivery}). A device is never told about itself, and never
 * about collections its policy leaves out. Unknown event types (from a newer instance)
 * are nothing: events are hints.
 * @example eventMessage({ type: "ack", device_id: "a", cursor: "c1.2" }, "b", null)
 * // { kind: "send", message: { type: "sync_completed", device_id: "a", cursor: "c1.2" } }
 */
export function eventMessage(
  event: SyncEvent,
  deviceId: string,
  policy: CollectionPolicy | null,
): Delivery {
  const allowed = (): ReadonlySet<string> => policy?.(deviceId) ?? new Set();
  switch (event.type) {
    case "changes": {
      // The pusher learnt the cursor from its push response.
      if (event.origin_device_id === deviceId) return null;
      const collections = event.collections.filter((c) => allowed().has(c));
      if (collections.length === 0) return null;
      return {
        kind: "send",
        message: {
          type: "sync_data_available",
          cursor: event.cursor,
          collections,
          origin_device_id: event.origin_device_id,
        },
      };
    }
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
