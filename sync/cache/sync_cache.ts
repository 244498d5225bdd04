/** Stats as computed at a head (and, for a member of a team, the team's head), kept briefly. */
export interface CachedStats {
  head: number;
  team?: { id: string; head: number };
  body: unknown;
}

/**
 * What the instances know of each user's sync without asking Postgres: the head of the
 * user's change sequence as committed, and `/api/sync/stats` as computed at a head.
 *
 * must: a recorded head is never ahead of a committed change, and a writer advances it
 * after commit and before it answers (pushes, conflict resolutions, jobs), so a pull from
 * the old head that follows can never be told "nothing new". The change events and heads
 * read in Postgres advance it too; it is never lowered, and it expires, so a lost advance
 * costs at most a short wait for the next one, never a change.
 */
export interface SyncCache {
  /** The user's head as last recorded, or null when none is (never seen, or expired). */
  head(userId: string): Promise<number | null>;
  /** Records that the user's changes up to `seq` committed; never lowers a recorded head. */
  advance(userId: string, seq: number): Promise<void>;
  /** The recorded head and stats together (one round trip). */
  stats(userId: string): Promise<{ head: number | null; stats: CachedStats | null }>;
  putStats(userId: string, stats: CachedStats): Promise<void>;
  close(): Promise<void>;
}

/** How long a recorded head is trusted without being advanced again. */
export const HEAD_TTL_SECONDS = 30;
/** How long stats are served unchanged when nothing was written (device presence moves on). */
export const STATS_TTL_SECONDS = 5;

/** Users whose head (and, apart, stats) the memory cache holds at most. */
export const MEMORY_CACHE_USERS = 10_000;

/**
 * The cache in this process's memory, for the embedded default, where every commit of the
 * deployment passes through this process. An entry expires when its user is next looked
 * up, and a user who never comes back is not looked up: so each map holds at most
 * `maxUsers`, and a full one first drops what expired, then the entries written longest
 * ago, down to nine tenths of the bound. Dropping an entry is as safe as its expiry: the next reader asks the database.
 */
export class MemorySyncCache implements SyncCache {
  readonly #heads = new Map<string, { seq: number; until: number }>();
  readonly #stats = new Map<string, { stats: CachedStats; until: number }>();

  constructor(
    readonly clock: () => number = Date.now,
    readonly maxUsers: number = MEMORY_CACHE_USERS,
  ) {}

  /** How many users' heads and stats are held (tests assert the bound). */
  get size(): { heads: number; stats: number } {
    return { heads: this.#heads.size, stats: this.#stats.size };
  }

  head(userId: string): Promise<number | null> {
    return Promise.resolve(this.#fresh(this.#heads, userId)?.seq ?? null);
  }

  advance(userId: string, seq: number): Promise<void> {
    const known = this.#fresh(this.#heads, userId)?.seq ?? -1;
    this.#put(this.#heads, userId, {
      seq: Math.max(known, seq),
      until: this.clock() + HEAD_TTL_SECONDS * 1000,
    });
    return Promise.resolve();
  }

  async stats(userId: string): Promise<{ head: number | null; stats: CachedStats | null }> {
    return {
      head: await this.head(userId),
      stats: this.#fresh(this.#stats, userId)?.stats ?? null,
    };
  }

  putStats(userId: string, stats: CachedStats): Promise<void> {
    this.#put(this.#stats, userId, { stats, until: this.clock() + STATS_TTL_SECONDS * 1000 });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#heads.clear();
    this.#stats.clear();
    return Promise.resolve();
  }

  /** Writes `entry` as the newest of `map`, making room first when the map is full. */
  #put<T extends { until: number }>(map: Map<string, T>, userId: string, entry: T): void {
    // Deleted first so that insertion order is the order of writes, oldest first.
    map.delete(userId);
    if (map.size >= this.maxUsers) {
      const now = this.clock();
      for (const [key, { until }] of map) if (until <= now) map.delete(key);
      // A tenth of the room freed at once, so a full map is swept once per that many writes.
      const keep = this.maxUsers - Math.ceil(this.maxUsers / 10);
      for (const key of map.keys()) {
        if (map.size <= keep) break;
        map.delete(key);
      }
    }
    map.set(userId, entry);
  }

  #fresh<T extends { until: number }>(map: Map<string, T>, userId: string): T | undefined {
    const entry = map.get(userId);
    if (entry && entry.until > this.clock()) return entry;
    map.delete(userId);
    return undefined;
  }
}
