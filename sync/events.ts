/**
 * What travels on a user's bus channel. Events are hints ("your cursor is behind"),
 * never the data itself: a device always pulls from its cursor, so a repeated or lost
 * event costs latency, never data.
 */
export type SyncEvent =
  | {
    type: "changes";
    /** Opaque cursor of the highest change in the transaction (sync/cursor.ts). */
    cursor: string;
    collections: string[];
    origin_device_id: string | null;
  }
  | { type: "conflict"; conflict_id: string; collection: string; item_id: string }
  | { type: "device"; device_id: string; status: "online" | "offline" | "revoked" }
  | { type: "ack"; device_id: string; cursor: string };

/** The bus channel that carries one user's events. */
export function userChannel(userId: string): string {
  return `sync:user:${userId}`;
}
