import type { Queryable } from "./driver.ts";

/** When the embedded database checkpoints: see {@link keepCheckpointing}. */
export interface CheckpointPolicy {
  /** How often the WAL written since the last checkpoint is measured. */
  everyMs: number;
  /** A checkpoint runs once at least this much WAL was written since the last one. */
  walBytes: number;
}

/**
 * 32MB of WAL is about 30,000 one-change pushes (1.1KB of WAL each), replayed in under a
 * second after a crash; checked every 15 s, so at 1,000 pushes/s about 16MB more at most.
 * A checkpoint of the 16MB buffer pool took 25ms.
 */
export const DEFAULT_CHECKPOINTS: CheckpointPolicy = { everyMs: 15_000, walBytes: 32 * 2 ** 20 };

/**
 * Postgres bounds its WAL with a checkpointer process, which PGlite does not have: it runs
 * Postgres in single-user mode, where neither `checkpoint_timeout` nor `max_wal_size` starts
 * a checkpoint. Left alone, the database checkpointed only when it closed, so `pg_wal` kept
 * every byte written since the service started (1.1KB a push, 300MB after 360,000 rows), and
 * a restart after a crash or kill replayed all of it (10 s for 300MB here, against 3 s to
 * open a database that had closed). So the driver is the checkpointer: every `everyMs` it
 * measures the WAL since the last checkpoint, and checkpoints past `walBytes`. Postgres then
 * recycles or removes the segments before it (at most `max_wal_size` of them are kept: see
 * START_PARAMS in pglite_driver.ts).
 *
 * `exclusive` runs its work between transactions, never inside one. A checkpoint that fails
 * is tried again at the next tick: the database's own writes fail loudly on the same fault.
 * The returned function stops the timer; the timer never keeps the process alive.
 */
export function keepCheckpointing(
  exclusive: (work: (session: Queryable) => Promise<unknown>) => Promise<unknown>,
  policy: CheckpointPolicy,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    exclusive((session) => checkpointIfBehind(session, policy.walBytes))
      .catch(() => {})
      .finally(() => running = false);
  }, policy.everyMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}

/** Checkpoints when at least `walBytes` of WAL were written since the last checkpoint. */
export async function checkpointIfBehind(session: Queryable, walBytes: number): Promise<boolean> {
  const [{ behind }] = await session.query<{ behind: number }>(
    `select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::float8 as behind
     from pg_control_checkpoint()`,
  );
  if (behind < walBytes) return false;
  await session.query("checkpoint");
  return true;
}
