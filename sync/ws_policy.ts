import type { Collection } from "./collections.ts";
import { allowedCollections } from "./selective_sync.ts";
import type { SyncStore } from "./store.ts";
import { readSyncSettings, SYNC_SETTINGS_ID } from "./sync_settings.ts";

/** The collections each device of a user receives, from one read of the user's settings. */
export type CollectionPolicy = (deviceId: string) => ReadonlySet<Collection>;

/**
 * Reads the user's `sync` settings once and answers per device (selective sync narrowed by
 * `device_policies`, DESIGN.md §7). Read fresh for every event rather than cached: a
 * settings change is itself an event, and a stale cache would leak a collection to a
 * device whose policy just excluded it.
 */
export async function loadCollectionPolicy(
  store: SyncStore,
  userId: string,
): Promise<CollectionPolicy> {
  const item = await store.getItem(userId, "settings", SYNC_SETTINGS_ID);
  const settings = readSyncSettings(item?.deleted ? null : item?.data);
  return (deviceId) => allowedCollections(settings, deviceId);
}
