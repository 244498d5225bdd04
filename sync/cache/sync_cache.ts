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

/**
 * The cache in this process's memory, for the embedded default, where every commit of the
 * deployment passes through this process.
 */
export class MemorySyncCache implements SyncCache {
  readonly #heads = new Map<string, { seq: number; until: number }>();
  readonly #stats = new Map<string, { stats: CachedStats; until: number }>();

  constructor(readonly clock: () => number = Date.now) {}

  head(userId: string): Promise<number | null> {
    return Promise.resolve(this.#fresh(this.#heads, userId)?.seq ?? null);
  }

  advance(userId: string, seq: number): Promise<void> {
    const known = this.#fresh(this.#heads, userId)?.seq ?? -1;
    this.#heads.set(userId, {
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
    this.#stats.set(userId, { stats, until: this.clock() + STATS_TTL_SECONDS * 1000 });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#heads.clear();
    this.#stats.clear();
    return Promise.resolve();
  }

  #fresh<T extends { until: number }>(map: Map<string, T>, userId: string): T | undefined {
    const entry = map.get(userId);
    if (entry && entry.until > this.clock()) return entry;
    map.delete(userId);
    return undefined;
  }
}
