import type { SyncCache } from "./cache/sync_cache.ts";
import type { SyncStats } from "./api_schemas.ts";
import { encodeCursor } from "./cursor.ts";
import type { DeviceService } from "./device_service.ts";
import type { SyncStore } from "./sync_store.ts";

/** `GET /api/sync/stats`: what a user's sync looks like right now. */
export class StatsService {
  constructor(
    private readonly store: SyncStore,
    private readonly devices: DeviceService,
    /** Serves stats computed at the current head for a few seconds (null: always compute). */
    private readonly cache: SyncCache | null = null,
  ) {}

  /** The stats, from the cache when they were computed at the head the cache knows. */
  async forUser(userId: string): Promise<SyncStats> {
    const cached = await this.cache?.stats(userId).catch(() => null);
    // A write moves the head on, so stats of an older head are never served.
    if (cached?.stats && cached.stats.head === cached.head) return cached.stats.body as SyncStats;
    const { head, body } = await computeStats(this.store, this.devices, userId);
    this.cache?.putStats(userId, { head, body }).catch(() => {});
    this.cache?.advance(userId, head).catch(() => {});
    return body;
  }
}

async function computeStats(
  store: SyncStore,
  deviceService: DeviceService,
  userId: string,
): Promise<{ head: number; body: SyncStats }> {
  const [stats, devices] = await Promise.all([
    store.stats(userId),
    deviceService.list(userId),
  ]);
  const body: SyncStats = {
    cursor: encodeCursor(stats.head),
    collections: Object.fromEntries(
      stats.collections.map((c) => [c.collection, { items: c.items, deleted: c.deleted }]),
    ),
    devices: devices.map((d) => ({
      id: d.id,
      name: d.name,
      online: d.online,
      last_sync_at: d.last_seen_at,
      cursor: d.cursor,
    })),
    conflicts: { ...stats.conflicts, outcomes: stats.outcomes },
    filtered_commands: stats.filtered,
  };
  return { head: stats.head, body };
}
