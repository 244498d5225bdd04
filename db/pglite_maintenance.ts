import type { Queryable } from "./driver.ts";

/**
 * PGlite runs Postgres in single-user mode: one backend, none of a server's background
 * processes. Two of them keep a database bounded, and the embedded driver does their work
 * itself, on timers, between transactions:
 *
 * - The checkpointer. Neither `checkpoint_timeout` nor `max_wal_size` starts a checkpoint in
 *   single-user mode, so the database checkpointed only when it closed: `pg_wal` kept every
 *   byte written since the service started (1.1KB a push; 321MB after 300MB of writes), and a
 *   restart after a crash or kill replayed all of it (9-10 s for 300MB, against 1 s once
 *   checkpointed).
 * - Autovacuum. Without it, rows deleted by the jobs (free-tier retention, tombstone
 *   compaction) and old row versions were never reclaimed: the tables grew for good whatever
 *   they held, redacted texts stayed in dead tuples, and transaction ids were never frozen.
 */
export interface MaintenancePolicy {
  /** How often the WAL written since the last checkpoint is measured. */
  checkpointEveryMs: number;
  /** A checkpoint runs once at least this much WAL was written since the last one. */
  checkpointWalBytes: number;
  /** How often tables are checked against autovacuum's thresholds (see tablesToVacuum). */
  vacuumEveryMs: number;
}

/**
 * 32MB of WAL is about 30,000 one-change pushes, replayed in about a second; checked every
 * 15 s, so at most 16MB more at 1,000 pushes/s. A checkpoint of the 16MB buffer pool took
 * 25 ms. Vacuum as often as autovacuum's default naptime.
 */
export const DEFAULT_MAINTENANCE: MaintenancePolicy = {
  checkpointEveryMs: 15_000,
  checkpointWalBytes: 32 * 2 ** 20,
  vacuumEveryMs: 60_000,
};

/** Runs `work` between transactions, with the session to itself. */
export type Exclusive = <T>(work: (session: Queryable) => Promise<T>) => Promise<T>;

/** Told of maintenance that failed; it is tried again at its next tick. */
export type MaintenanceFailed = (work: "checkpoint" | "vacuum", error: unknown) => void;

/**
 * Starts the timers; the returned function stops them. They never keep the process alive.
 */
export function keepMaintaining(
  exclusive: Exclusive,
  policy: MaintenancePolicy,
  onError: MaintenanceFailed,
): () => void {
  let stopped = false;
  const stops = [
    repeat(
      policy.checkpointEveryMs,
      () => exclusive((session) => checkpointIfBehind(session, policy.checkpointWalBytes)),
      (error) => onError("checkpoint", error),
    ),
    // One exclusive turn per table: requests queued meanwhile run between two VACUUMs. A
    // stop between two turns ends the loop: the database may be closing behind it.
    repeat(policy.vacuumEveryMs, async () => {
      const tables = await exclusive((session) => tablesToVacuum(session));
      for (const table of tables) {
        if (stopped) return;
        await exclusive((session) => session.query(`vacuum ${table}`));
      }
    }, (error) => onError("vacuum", error)),
  ];
  return () => {
    stopped = true;
    stops.forEach((stop) => stop());
  };
}

/** `work` every `everyMs`, skipping a tick while the previous run has not finished. */
function repeat(
  everyMs: number,
  work: () => Promise<unknown>,
  onError: (error: unknown) => void,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    work().catch(onError).finally(() => running = false);
  }, everyMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}

/** Checkpoints when at least `walBytes` of WAL were written since the last checkpoint. */
export async function checkpointIfBehind(session: Queryable, walBytes: number): Promise<boolean> {
  if (await walSinceCheckpoint(session) < walBytes) return false;
  await session.query("checkpoint");
  return true;
}

/** Bytes of WAL past the last checkpoint's redo point: what a restart after a kill replays. */
export async function walSinceCheckpoint(session: Queryable): Promise<number> {
  const [{ behind }] = await session.query<{ behind: number }>(
    `select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::float8 as behind
     from pg_control_checkpoint()`,
  );
  return behind;
}

/**
 * The tables autovacuum would vacuum, by its default thresholds: the service's tables with
 * dead rows past 50 plus a fifth of the table, and any table, the system catalogs' too,
 * whose oldest transaction id is older than `freezeMaxAge` (default: the server's
 * `autovacuum_freeze_max_age`). The counts are the statistics system's; like a server's,
 * they start again from zero after a crash.
 *
 * must: leave a table never analyzed (`reltuples` < 0) to the age rule alone. VACUUM records
 * its size as ANALYZE does, and a table recorded (nearly) empty gets plans that scan it whole
 * until its next ANALYZE (statistics_sql.ts); the jobs analyze it at 10 pages.
 */
export async function tablesToVacuum(session: Queryable, freezeMaxAge?: number): Promise<string[]> {
  const rows = await session.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     left join pg_stat_all_tables s on s.relid = c.oid
     where c.relkind in ('r', 'm')
       and (n.nspname = current_schema() and c.reltuples >= 0
           and s.n_dead_tup > 50 + 0.2 * c.reltuples
         or age(c.relfrozenxid) > coalesce($1::int,
           current_setting('autovacuum_freeze_max_age')::int))
     order by n.nspname, c.relname`,
    [freezeMaxAge ?? null],
  );
  return rows.map((row) => row.name);
}
