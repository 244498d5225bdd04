import type { ChangeNotifier } from "./change_notifier.ts";
import { ConflictService } from "./conflict_service.ts";
import { DeviceService } from "./device_service.ts";
import { StatsService } from "./stats_service.ts";
import type { SyncStore } from "./sync_store.ts";
import { SyncService } from "./sync_service.ts";

/** The domain services over one store, wired the same way in main.ts and in tests. */
export function buildServices(
  store: SyncStore,
  notifier: ChangeNotifier,
  clock: () => number = Date.now,
) {
  const devices = new DeviceService(store, notifier, clock);
  const sync = new SyncService(store, notifier, clock);
  return {
    devices,
    sync,
    stats: new StatsService(store, devices),
    conflicts: new ConflictService(store, sync, clock),
  };
}
