import { ReplicationError } from "./replication_error.ts";

/** The one method of a pg `Client` the slot helpers need. */
export interface SqlSession {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** `pg_replication_slots.wal_status`: how safe the WAL the slot needs is. */
export type WalStatus = "reserved" | "extended" | "unreserved" | "lost";

/** What the listener needs to know about its slot. */
export interface SlotStatus {
  /** The walsender streaming it now, if any: the slot is exclusive. */
  activePid: number | null;
  /** Where a stream started at `0/0` resumes: everything before it was published. */
  confirmedFlushLsn: string | null;
  walStatus: WalStatus | null;
  /** pg_current_wal_lsn() - confirmed_flush_lsn. */
  lagBytes: number | null;
}

/** Tables whose changes become events (DESIGN.md §1). */
export const PUBLISHED_TABLES = ["items", "conflicts", "devices"] as const;

/**
 * Creates the publication (named like the slot) and the pgoutput slot when missing.
 * The listener calls it while holding the advisory lock; it also tolerates a concurrent
 * creator (duplicate errors are taken as "exists").
 */
export async function ensurePublicationAndSlot(db: SqlSession, name: string): Promise<void> {
  const publication = await db.query("select 1 from pg_publication where pubname = $1", [name]);
  if (publication.rows.length === 0) {
    await ignoreDuplicate(
      db.query(`create publication "${name}" for table ${PUBLISHED_TABLES.join(", ")}`),
    );
  }
  const slot = await db.query(
    `select plugin, slot_type, database = current_database() as here
       from pg_replication_slots where slot_name = $1`,
    [name],
  );
  if (slot.rows.length === 0) {
    await ignoreDuplicate(
      db.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [name]),
    );
    return;
  }
  const { plugin, slot_type, here } = slot.rows[0];
  if (slot_type !== "logical" || plugin !== "pgoutput" || here !== true) {
    throw new ReplicationError(
      "slot_misconfigured",
      `REPLICATION_SLOT "${name}" exists but is not a pgoutput logical slot of this database: ` +
        `got ${slot_type} ${plugin}`,
    );
  }
}

/** The slot's state, or null when it does not exist. */
export async function readSlotStatus(db: SqlSession, name: string): Promise<SlotStatus | null> {
  const { rows } = await db.query(
    `select active_pid, confirmed_flush_lsn::text as confirmed_flush_lsn, wal_status,
            (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag_bytes
       from pg_replication_slots where slot_name = $1`,
    [name],
  );
  if (rows.length === 0) return null;
  const row = rows[0];
  return {
    activePid: row.active_pid == null ? null : Number(row.active_pid),
    confirmedFlushLsn: (row.confirmed_flush_lsn as string | null) ?? null,
    walStatus: (row.wal_status as WalStatus | null) ?? null,
    lagBytes: row.lag_bytes == null ? null : Math.max(0, Number(row.lag_bytes)),
  };
}

/**
 * Takes the session advisory lock that makes this instance the slot holder; false when
 * another session holds it. Released when the session ends, so a dead holder frees it.
 */
export async function tryHolderLock(db: SqlSession, name: string): Promise<boolean> {
  const { rows } = await db.query(
    "select pg_try_advisory_lock(hashtext('devpocket_sync.replication'), hashtext($1)) as locked",
    [name],
  );
  return rows[0]?.locked === true;
}

/**
 * Writes a non-transactional logical message. It reaches the stream even when no synced
 * table changed, so the holder can confirm past it and an idle schema never pins WAL.
 */
export async function emitHeartbeat(db: SqlSession): Promise<void> {
  await db.query("select pg_logical_emit_message(false, 'devpocket', 'heartbeat')");
}

async function ignoreDuplicate(query: Promise<unknown>): Promise<void> {
  try {
    await query;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // 42710 duplicate_object, 23505 unique_violation: another instance created it first.
    if (code !== "42710" && code !== "23505") throw error;
  }
}
