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

/**
 * Tables whose changes become events (DESIGN.md §1), and what of them: inserts and updates
 * only. Devices are not published: their rows change on every `last_seen_at` refresh,
 * which nobody is told of. A deletion or a replaced token reaches the stream instead as a
 * logical message the `devices` triggers emit (db/migrations/005_device_events.sql).
 */
export const PUBLISHED_TABLES = ["conflicts", "items"] as const;
/**
 * The columns of `items` an event is made of (decode.ts), its key first (an update must
 * carry it). Without the others, the stream never carries an item's data: every push of a
 * large settings object would otherwise be sent to the listener and parsed there for
 * nothing (with only these, the listener drains a backlog about a quarter faster). Column
 * lists came with Postgres 15; before it, items are published whole.
 */
const PUBLISHED_ITEM_COLUMNS = ["user_id", "collection", "id", "seq", "device_id"] as const;
const COLUMN_LISTS_SINCE = 150_000;
const INSUFFICIENT_PRIVILEGE = "42501";
const PUBLISHED_OPERATIONS = "insert, update";

/**
 * What {@link ensurePublicationAndSlot} found: `recreated` means the publication was there
 * but the slot was not (someone dropped it): the changes committed since its loss were
 * never published.
 */
export type SlotSetup = "existed" | "created" | "recreated";

/**
 * Creates the publication (named like the slot) and the pgoutput slot when missing, and
 * brings a publication made by an older version to what {@link PUBLISHED_TABLES} says.
 * The listener calls it while holding the advisory lock; it also tolerates a concurrent
 * creator (duplicate errors are taken as "exists").
 */
export async function ensurePublicationAndSlot(db: SqlSession, name: string): Promise<SlotSetup> {
  const publicationExisted = await ensurePublication(db, name);
  const slot = await db.query(
    `select plugin, slot_type, database = current_database() as here
       from pg_replication_slots where slot_name = $1`,
    [name],
  );
  if (slot.rows.length === 0) {
    const created = await ignoreDuplicate(
      db.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [name]),
    );
    if (!created) return "existed";
    return publicationExisted ? "recreated" : "created";
  }
  const { plugin, slot_type, here } = slot.rows[0];
  if (slot_type !== "logical" || plugin !== "pgoutput" || here !== true) {
    throw new ReplicationError(
      "slot_misconfigured",
      `REPLICATION_SLOT "${name}" exists but is not a pgoutput logical slot of this database: ` +
        `got ${slot_type} ${plugin}`,
    );
  }
  return "existed";
}

/**
 * True when the publication existed. Only ALTERs an existing one, never drops it: a stream
 * decodes older WAL with the publication as it was then, and one that did not exist then
 * fails the stream.
 */
async function ensurePublication(db: SqlSession, name: string): Promise<boolean> {
  const { rows } = await db.query(
    `select current_setting('server_version_num')::int >= ${COLUMN_LISTS_SINCE} as column_lists,
            (select pubinsert and pubupdate and not pubdelete and not pubtruncate
               from pg_publication where pubname = $1) as operations_ok,
            array(select tablename::text from pg_publication_tables
                   where pubname = $1 order by 1) as tables`,
    [name],
  );
  const { column_lists, operations_ok, tables: found } = rows[0];
  const tables = column_lists
    ? `conflicts, items (${PUBLISHED_ITEM_COLUMNS.join(", ")})`
    : PUBLISHED_TABLES.join(", ");
  if (operations_ok === null) {
    await ignoreDuplicate(
      db.query(
        `create publication "${name}" for table ${tables} with (publish = '${PUBLISHED_OPERATIONS}')`,
      ),
    );
    return false;
  }
  const tablesOk = String(found) === String(PUBLISHED_TABLES);
  if (!tablesOk || (column_lists && !(await carriesEventColumnsOnly(db, name)))) {
    await db.query(`alter publication "${name}" set table ${tables}`).catch((error) => {
      // Whole rows still make the same events: a publication this role may not alter (one
      // an administrator made) keeps them rather than stopping the stream. Wrong tables do not.
      if (!tablesOk || (error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error;
    });
  }
  if (operations_ok !== true) {
    await db.query(`alter publication "${name}" set (publish = '${PUBLISHED_OPERATIONS}')`);
  }
  return true;
}

/** Whether the publication carries PUBLISHED_ITEM_COLUMNS of `items` and no other (Postgres 15+). */
async function carriesEventColumnsOnly(db: SqlSession, name: string): Promise<boolean> {
  const { rows } = await db.query(
    `select array(select unnest(attnames)::text order by 1) as columns
       from pg_publication_tables
      where pubname = $1 and schemaname = current_schema() and tablename = 'items'`,
    [name],
  );
  return String(rows[0]?.columns) === String([...PUBLISHED_ITEM_COLUMNS].sort());
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

/**
 * Ends the walsender streaming the slot for a holder that lost its lock but cannot stop
 * by itself (frozen, or cut off while the server waits out `wal_sender_timeout`). True
 * when it was signalled.
 */
export async function endWalSender(db: SqlSession, pid: number): Promise<boolean> {
  const { rows } = await db.query("select pg_terminate_backend($1) as done", [pid]);
  return rows[0]?.done === true;
}

/** True when `query` created the object, false when another instance had just done so. */
async function ignoreDuplicate(query: Promise<unknown>): Promise<boolean> {
  try {
    await query;
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // 42710 duplicate_object, 23505 unique_violation: another instance created it first.
    if (code !== "42710" && code !== "23505") throw error;
    return false;
  }
}
