/** An item to tombstone, at the version the job decided on (a newer one is left alone). */
export interface ItemAtVersion {
  collection: string;
  id: string;
  version: number;
}

/** A live command as the expire rules look at it. */
export interface CommandRow {
  id: string;
  version: number;
  startedAt: number;
  command: string;
  cwd?: string;
  host?: string;
}

/** What tombstoning left: the user's new head (cursor of the last tombstone) and how many. */
export interface Tombstoned {
  head: number;
  count: number;
}

/** The queries of the scheduled jobs, inside one transaction that holds the jobs lock. */
export interface JobsTx {
  /** Free users with live commands run before `cutoffMs`, after `afterUserId` in id order. */
  freeUsersWithCommandsBefore(
    cutoffMs: number,
    afterUserId: string,
    limit: number,
  ): Promise<string[]>;
  /** One user's live commands run at or before `cutoffMs`, in (started_at, id) order after `after`. */
  commandsBefore(
    userId: string,
    cutoffMs: number,
    limit: number,
    after?: { startedAt: number; id: string },
  ): Promise<CommandRow[]>;
  /** Users whose sync settings hold an `expire` rule, after `afterUserId` in id order. */
  usersWithExpireRules(
    afterUserId: string,
    limit: number,
  ): Promise<{ userId: string; settings: Record<string, unknown> | null }[]>;
  /**
   * Turns items into tombstones as a push of deletes would: under the user's row lock,
   * each taking the next number of the user's sequence. Items no longer at the given
   * version (changed since) are left alone. Their history goes with them; every change_id
   * they carried is kept in applied_changes first (see 003_push_bookkeeping.sql).
   */
  tombstone(userId: string, items: readonly ItemAtVersion[], nowMs: number): Promise<Tombstoned>;
  /** Deletes up to `limit` prior versions of free users' items (change_ids kept); how many. */
  dropFreeHistory(limit: number): Promise<number>;
  /**
   * Users with a tombstone stored before `cutoff` that every device seen since
   * `activeSince` has acknowledged, after `afterUserId` in id order.
   */
  usersWithPurgeableTombstones(
    cutoff: Date,
    activeSince: Date,
    afterUserId: string,
    limit: number,
  ): Promise<string[]>;
  /**
   * Deletes up to `limit` such tombstones of one user, under its row lock (with their
   * history; change_ids kept), and moves the user's `purged_seq` to the highest one.
   */
  purgeTombstones(
    userId: string,
    cutoff: Date,
    activeSince: Date,
    limit: number,
  ): Promise<{ purged: number; purgedSeq: number }>;
  /**
   * Refreshes the planner statistics of tables never analyzed or much changed since
   * (db/statistics_sql.ts); answers their names.
   */
  analyzeGrownTables(): Promise<string[]>;
}

/** The persistence of the scheduled jobs (db/jobs_sql.ts). */
export interface JobsStore {
  /**
   * Runs `step` in one transaction that first takes the deployment-wide jobs lock
   * (`pg_try_advisory_xact_lock`); `null` when another instance holds it, and `step` did
   * not run.
   */
  locked<T>(step: (tx: JobsTx) => Promise<T>): Promise<{ value: T } | null>;
}
