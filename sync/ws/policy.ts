import { type Collection, COLLECTIONS } from "../collections.ts";
import { allowedCollections } from "../selective_sync.ts";
import type { SyncEvent } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { SyncStore } from "../sync_store.ts";
import { readSyncSettings, SYNC_SETTINGS_ID } from "../sync_settings.ts";

/** The collections each device of a user receives, from one read of the user's settings. */
export type CollectionPolicy = (deviceId: string) => ReadonlySet<Collection>;

/**
 * Every collection for every device: what a hint names when the policy cannot be read.
 * Hints only name collections; pulls enforce the policy on the data itself.
 */
export const EVERY_COLLECTION: CollectionPolicy = () => new Set(COLLECTIONS);

/**
 * Reads the user's `sync` settings once and answers per device (selective sync narrowed by
 * `device_policies`, DESIGN.md §7), each device's answer worked out once: every event
 * asks it for each of the user's sockets.
 */
export async function loadCollectionPolicy(
  store: SyncStore,
  userId: string,
): Promise<CollectionPolicy> {
  const item = await store.getItem(userId, "settings", SYNC_SETTINGS_ID);
  const settings = readSyncSettings(item?.deleted ? null : item?.data);
  const answered = new Map<string, ReadonlySet<Collection>>();
  return (deviceId) => {
    let allowed = answered.get(deviceId);
    if (!allowed) answered.set(deviceId, allowed = allowedCollections(settings, deviceId));
    return allowed;
  };
}

/**
 * {@link loadCollectionPolicy}, or {@link EVERY_COLLECTION} when the store fails (logged):
 * a hint that names too much costs one pull, a dropped one costs latency.
 */
export function policyOrEvery(
  store: SyncStore,
  userId: string,
  logger: Pick<Logger, "warn">,
): Promise<CollectionPolicy> {
  return loadCollectionPolicy(store, userId).catch((error) =>
    everyCollection(logger, userId, error)
  );
}

function everyCollection(
  logger: Pick<Logger, "warn">,
  userId: string,
  error: unknown,
): CollectionPolicy {
  logger.warn("Reading the collection policy failed: hinting every collection", {
    user_id: userId,
    error,
  });
  return EVERY_COLLECTION;
}

/** A cached policy is reread at least this often, in case a settings event was lost. */
const POLICY_MAX_AGE_MS = 5_000;

/**
 * One user's policy for the hub's event loop. A user's events are dispatched in bus order
 * and a settings change is itself an event, so rereading on every event that touches
 * `settings` keeps the cache exact; the age bound covers an event lost in a bus outage.
 * A failed read answers {@link EVERY_COLLECTION} and is not cached: the next event reads again.
 */
export class CachedPolicy {
  #value: CollectionPolicy | null = null;
  #readAt = 0;

  constructor(
    private readonly store: SyncStore,
    private readonly userId: string,
    private readonly logger: Pick<Logger, "warn">,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(event: SyncEvent): Promise<CollectionPolicy> {
    const settingsChanged = event.type === "changes" && event.collections.includes("settings");
    const now = this.clock();
    if (this.#value && !settingsChanged && now - this.#readAt <= POLICY_MAX_AGE_MS) {
      return this.#value;
    }
    try {
      this.#value = await loadCollectionPolicy(this.store, this.userId);
      this.#readAt = now;
      return this.#value;
    } catch (error) {
      this.#value = null;
      return everyCollection(this.logger, this.userId, error);
    }
  }
}
