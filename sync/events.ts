import { teamOfOwner, teamOwner } from "./teams.ts";

/**
 * What travels on a user's bus channel, and (`changes` only) on a team's. Events are hints
 * ("your cursor is behind"), never the data itself: a device always pulls from its cursor,
 * so a repeated or lost event costs latency, never data.
 */
export type SyncEvent =
  | {
    type: "changes";
    /**
     * The single-stream cursor (`c1.`) of the highest change in the transaction, in the
     * stream of the channel's owner; the hub turns it into each device's cursor.
     */
    cursor: string;
    collections: string[];
    origin_device_id: string | null;
  }
  | { type: "conflict"; conflict_id: string; collection: string; item_id: string }
  | { type: "device"; device_id: string; status: "online" | "offline" | "revoked" }
  | { type: "ack"; device_id: string; cursor: string }
  /** The device registered again with its install_id: its earlier token no longer works. */
  | { type: "token_replaced"; device_id: string }
  /**
   * The team the user's devices sync changed (sync/teams.ts `syncedTeam`): sockets of
   * another team reconnect, so they subscribe to the right channel and resync.
   */
  | { type: "team_changed"; team_id: string | null };

/** The bus channel that carries one user's events. */
export function userChannel(userId: string): string {
  return `sync:user:${userId}`;
}

/** The bus channel that carries one team's events (DESIGN.md §11): its items' changes. */
export function teamChannel(teamId: string): string {
  return `sync:team:${teamId}`;
}

/** The channel of an owner's events: a user's, or a team's for its owner key (sync/teams.ts). */
export function ownerChannel(owner: string): string {
  const team = teamOfOwner(owner);
  return team === null ? userChannel(owner) : teamChannel(team);
}

/** The owner whose events a channel carries (a user id or a team's owner key); null for others. */
export function channelOwner(channel: string): string | null {
  if (channel.startsWith(USER_PREFIX)) return channel.slice(USER_PREFIX.length);
  if (channel.startsWith(TEAM_PREFIX)) return teamOwner(channel.slice(TEAM_PREFIX.length));
  return null;
}

const USER_PREFIX = userChannel("");
const TEAM_PREFIX = teamChannel("");

/** The one channel every instance's hub listens on, whatever users it serves. */
export const BROADCAST_CHANNEL = "sync:broadcast";

/**
 * What travels on {@link BROADCAST_CHANNEL}. `catch_up`: hints of some changes were lost
 * for everyone (the replication slot was recreated), so every hub re-checks each socket's
 * device and tells it what it missed, from its cursor.
 */
export type BroadcastEvent = { type: "catch_up" };
