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
  | { type: "ack"; device_id: string; cursor: string }
  /** The device registered again with its install_id: its earlier token no longer works. */
  | { type: "token_replaced"; device_id: string };

/** The bus channel that carries one user's events. */
export function userChannel(userId: string): string {
  return `sync:user:${userId}`;
}

/** The one channel every instance's hub listens on, whatever users it serves. */
export const BROADCAST_CHANNEL = "sync:broadcast";

/**
 * What travels on {@link BROADCAST_CHANNEL}. `catch_up`: hints of some changes were lost
 * for everyone (the replication slot was recreated), so every hub re-checks each socket's
 * device and tells it what it missed, from its cursor.
 */
export type BroadcastEvent = { type: "catch_up" };
