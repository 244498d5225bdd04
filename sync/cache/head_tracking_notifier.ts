import type { ChangeNotifier } from "../change_notifier.ts";
import type { SyncCache } from "./sync_cache.ts";

/**
 * The notifier, advancing the user's cached head to what a push (or a resolution) just
 * committed before it answers. The change events advance it too (head_tracking_bus.ts),
 * but they never reach the device that made the change: on a Postgres server, until the
 * listener published, that device's own next pull (`since` = its cursor before the push)
 * met the old head and was told "nothing new", its cursor stuck behind its own change.
 *
 * A committed sequence number is never ahead of a commit, so the cache's rule holds. A
 * failed advance does not fail the push: the cache then lags, which costs a query.
 */
export function withHeadAdvances(
  notifier: ChangeNotifier,
  cache: SyncCache | null,
  onError: (error: unknown) => void,
): ChangeNotifier {
  if (!cache) return notifier;
  return {
    async committed(userId, deviceId, plan) {
      if (plan.committed.seq > 0) {
        await cache.advance(userId, plan.committed.seq).catch(onError);
      }
      await notifier.committed(userId, deviceId, plan);
    },
    revoked: (userId, deviceId) => notifier.revoked(userId, deviceId),
    tokenReplaced: (userId, deviceId) => notifier.tokenReplaced(userId, deviceId),
  };
}
