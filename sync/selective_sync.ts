import { type Collection, COLLECTIONS } from "./collections.ts";
import type { SyncSettings } from "./sync_settings.ts";

/**
 * The collections one device sends and receives: the user's `collections` (selective
 * sync) narrowed by the device's own policy. `settings` always syncs, or a device could
 * lock itself out of the switch that turns sync back on.
 */
export function allowedCollections(
  settings: SyncSettings,
  deviceId: string,
): ReadonlySet<Collection> {
  const user = settings.collections ?? COLLECTIONS;
  const device = settings.device_policies?.[deviceId]?.collections ?? COLLECTIONS;
  return new Set(
    COLLECTIONS.filter((c) => c === "settings" || (user.includes(c) && device.includes(c))),
  );
}
