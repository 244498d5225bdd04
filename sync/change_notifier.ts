import type { Bus } from "./bus/bus.ts";
import { encodeCursor } from "./cursor.ts";
import { ownerChannel, type SyncEvent, userChannel } from "./events.ts";
import type { PlanResult } from "./push_planner.ts";

/** Told of every committed batch; turns it into bus events where no WAL listener does. */
export interface ChangeNotifier {
  /**
   * `owner`: the user, or the team's owner key (sync/teams.ts) for a team's items.
   * `deviceId`: the device that wrote, which needs no hint; null when no device did (a
   * redaction, which every device must apply, the writer's too).
   */
  committed(
    owner: string,
    deviceId: string | null,
    plan: Pick<PlanResult, "committed" | "newConflicts">,
  ): Promise<void>;
  revoked(userId: string, deviceId: string): Promise<void>;
  /** The device registered again with its install_id: its earlier token stopped working. */
  tokenReplaced(userId: string, deviceId: string): Promise<void>;
  /** The team the user's devices sync is now `teamId` (null: none). */
  teamChanged(userId: string, teamId: string | null): Promise<void>;
}

/**
 * On a Postgres server the replication listener publishes from the WAL (device deletions
 * and replaced tokens through the `devices` triggers' messages), so the API does nothing
 * after commit: publishing twice would only double the hints.
 */
export const WAL_NOTIFIER: ChangeNotifier = {
  committed: () => Promise.resolve(),
  revoked: () => Promise.resolve(),
  tokenReplaced: () => Promise.resolve(),
  teamChanged: () => Promise.resolve(),
};

/**
 * The embedded default has no WAL: the same events are published in-process after
 * commit. A publish failure is logged, not thrown: the data is committed and devices
 * catch up by cursor.
 */
export function inProcessNotifier(bus: Bus, onError: (error: unknown) => void): ChangeNotifier {
  const publish = (channel: string, events: SyncEvent[]) =>
    Promise.all(
      events.map((event) => bus.publish(channel, JSON.stringify(event)).catch(onError)),
    ).then(() => {});
  return {
    async committed(owner, deviceId, plan) {
      const events: SyncEvent[] = [];
      if (plan.committed.seq > 0) {
        events.push({
          type: "changes",
          cursor: encodeCursor(plan.committed.seq),
          collections: plan.committed.collections,
          origin_device_id: deviceId,
        });
      }
      for (const c of plan.newConflicts) {
        events.push({
          type: "conflict",
          conflict_id: c.id,
          collection: c.collection,
          item_id: c.item_id,
        });
      }
      await publish(ownerChannel(owner), events);
    },
    revoked: (userId, deviceId) =>
      publish(userChannel(userId), [{ type: "device", device_id: deviceId, status: "revoked" }]),
    tokenReplaced: (userId, deviceId) =>
      publish(userChannel(userId), [{ type: "token_replaced", device_id: deviceId }]),
    teamChanged: (userId, teamId) =>
      publish(userChannel(userId), [{ type: "team_changed", team_id: teamId }]),
  };
}
