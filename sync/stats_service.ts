import type { SyncStats } from "./api_schemas.ts";
import { encodeCursor } from "./cursor.ts";
import type { DeviceService } from "./device_service.ts";
import type { SyncStore } from "./sync_store.ts";

/** `GET /api/sync/stats`: what a user's sync looks like right now. */
export class StatsService {
  constructor(private readonly store: SyncStore, private readonly devices: DeviceService) {}

  async forUser(userId: string): Promise<SyncStats> {
    const [stats, devices] = await Promise.all([
      this.store.stats(userId),
      this.devices.list(userId),
    ]);
    return {
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
  }
}
