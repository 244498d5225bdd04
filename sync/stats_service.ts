import type { SyncCache } from "./cache/sync_cache.ts";
import type { SyncStats } from "./api_schemas.ts";
import { encodePosition } from "./cursor.ts";
import type { DeviceService } from "./device_service.ts";
import type { StoreStats, SyncStore } from "./sync_store.ts";
import { syncedTeam, teamOwner } from "./teams.ts";
import type { Account } from "./tiers.ts";

/** `GET /api/sync/stats`: what a user's sync looks like right now. */
export class StatsService {
  constructor(
    private readonly store: SyncStore,
    private readonly devices: DeviceService,
    /** Serves stats computed at the current head for a few seconds (null: always compute). */
    private readonly cache: SyncCache | null = null,
  ) {}

  /**
   * The stats, from the cache when they were computed at the heads the cache knows: the
   * user's, and for a member of a team the team's (whose item counts they include).
   */
  async forUser(account: Account): Promise<SyncStats> {
    const { userId } = account;
    const team = syncedTeam(account);
    const [cached, teamHead] = await Promise.all([
      this.cache?.stats(userId).catch(() => null),
      team === null ? null : this.cache?.head(teamOwner(team)).catch(() => null) ?? null,
    ]);
    // A write moves a head on, so stats of an older head are never served.
    const stats = cached?.stats;
    const sameTeam = team === null
      ? stats?.team === undefined
      : stats?.team?.id === team && stats.team.head === teamHead;
    if (stats && stats.head === cached!.head && sameTeam) return stats.body as SyncStats;
    const { heads, body } = await computeStats(this.store, this.devices, account, team);
    this.cache?.putStats(userId, {
      head: heads.user,
      ...(team !== null && { team: { id: team, head: heads.team } }),
      body,
    }).catch(() => {});
    this.cache?.advance(userId, heads.user).catch(() => {});
    if (team !== null) this.cache?.advance(teamOwner(team), heads.team).catch(() => {});
    return body;
  }
}

async function computeStats(
  store: SyncStore,
  deviceService: DeviceService,
  account: Account,
  team: string | null,
): Promise<{ heads: { user: number; team: number }; body: SyncStats }> {
  const [stats, teamStats, devices] = await Promise.all([
    store.stats(account.userId),
    team === null ? null : store.stats(teamOwner(team)),
    deviceService.list(account),
  ]);
  const heads = { user: stats.head, team: teamStats?.head ?? 0 };
  const counts = (s: StoreStats | null) =>
    (s?.collections ?? []).map((c) => [c.collection, { items: c.items, deleted: c.deleted }]);
  const body: SyncStats = {
    cursor: encodePosition(heads, team),
    // The team's items count with the user's; its conflicts and outcomes are its admins'.
    collections: Object.fromEntries([...counts(stats), ...counts(teamStats)]),
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
  return { heads, body };
}
