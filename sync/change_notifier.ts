import type { Bus } from "./bus/bus.ts";
import { encodeCursor } from "./cursor.ts";
import { type SyncEvent, userChannel } from "./events.ts";
import type { PlanResult } from "./push_planner.ts";

/** Told of every committed batch; turns it into bus events where no WAL listener does. */
export interface ChangeNotifier {
  committed(userId: string, deviceId: string, plan: PlanResult): Promise<void>;
  revoked(userId: string, deviceId: string): Promise<void>;
  /** The device registered again with its install_id: its earlier token stopped working. */
  tokenReplaced(userId: string, deviceId: string): Promise<void>;
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
};

/**
 * The embedded default has no WAL: the same events are published in-process after
 * commit. A publish failure is logged, not thrown: the data is committed and devices
 * catch up by cursor.
 */
export function inProcessNotifier(bus: Bus, onError: (error: unknown) => void): ChangeNotifier {
  const publish = (userId: string, events: SyncEvent[]) =>
    Promise.all(
      events.map((event) => bus.publish(userChannel(userId), JSON.stringify(event)).catch(onError)),
    ).then(() => {});
  return {
    async committed(userId, deviceId, plan) {
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
      await publish(userId, events);
    },
    revoked: (userId, deviceId) =>
      publish(userId, [{ type: "device", device_id: deviceId, status: "revoked" }]),
    tokenReplaced: (userId, deviceId) =>
      publish(userId, [{ type: "token_replaced", device_id: deviceId }]),
  };
}
