import { type Driver, type Queryable, retryOnceIfTransient, sqlState } from "./driver.ts";
import {
  type AppliedRow,
  type BatchReads,
  type BatchSnapshot,
  type BatchWrites,
  type ConflictRow,
  itemKey,
  type ItemRow,
  StoreDataError,
  versionKey,
} from "../sync/sync_store.ts";
import { isTeamOwner } from "../sync/teams.ts";

export const ITEM_COLUMNS =
  "collection, id, version, data, deleted, redacted, modified_at, device_id, change_id, seq, dedupe_key, author";
// Item rows travel with one-letter keys (see itemRecords): about a fifth less JSON for the
// client to write and the server to parse, on the largest parameter of a push.
const ITEM_RECORD =
  "c text, i text, v int, d jsonb, x bool, r bool, m bigint, g uuid, h uuid, s bigint, k uuid, a text";
const ITEM_VALUES = "r.c, r.i, r.v, r.d, r.x, r.r, r.m, r.g, r.h, r.s, r.k, r.a";

/**
 * One push batch in one transaction: lock the user, read what the batch decides against,
 * let `decide` (pure) choose the writes, send them with the COMMIT. A handful of statements
 * for 500 changes: sets travel as one JSON parameter expanded with jsonb_to_recordset.
 * Run at read committed whatever the server's default (the user's row lock orders batches),
 * once more if the server cancels it as a deadlock victim; a refusal caused by the data
 * written becomes a `StoreDataError`.
 */
export async function runBatch<T>(
  driver: Driver,
  userId: string,
  reads: BatchReads,
  decide: (snapshot: BatchSnapshot) => { writes: BatchWrites; result: T },
): Promise<T> {
  try {
    return await retryOnceIfTransient(() =>
      driver.transaction((tx) => batch(tx, userId, reads, decide), { isolation: "read committed" })
    );
  } catch (error) {
    throw asStoreDataError(error);
  }
}

async function batch<T>(
  tx: Queryable,
  userId: string,
  reads: BatchReads,
  decide: (snapshot: BatchSnapshot) => { writes: BatchWrites; result: T },
): Promise<T> {
  // must: take the user's lock before reading, so the batch decides against the state
  // it will write over and its sequence numbers follow commit order.
  // Sent together: one connection runs them in order, so the reads still follow the
  // lock and see everything committed before it.
  const reading = Promise.all([
    lockExistingUser(tx, userId),
    readBatchState(tx, userId, reads),
    reads.conflictId === undefined ? undefined : lockConflict(tx, userId, reads.conflictId),
  ]);
  if (reads.whileReading) {
    // Awaited below; marked handled now in case whileReading throws first.
    reading.catch(() => {});
    // One turn of the microtask queue first: postgres.js writes a statement out there.
    await null;
    reads.whileReading();
  }
  let [head, state, conflictStatus] = await reading;
  if (head === null) {
    // A user seen for the first time: create the row, then read again under its lock.
    head = await lockUser(tx, userId);
    state = await readBatchState(tx, userId, reads);
  }
  const { applied, items, dedupe } = state;
  const bases = await readBases(tx, userId, reads.bases(items));
  const { writes, result } = decide({ head, applied, items, bases, dedupe, conflictStatus });
  // Not awaited: the driver sends COMMIT along with the writes and fails the
  // transaction if one of them fails (Driver.transaction).
  sendWrites(tx, userId, writes);
  return result;
}

/**
 * SQLSTATE classes of failures caused by the data a statement carried: 22 data exception
 * (a value the type refuses), 54 program limit exceeded (a value too large or too deep),
 * 23 integrity constraint violation.
 */
function asStoreDataError(error: unknown): unknown {
  const state = sqlState(error);
  if (state === null) return error;
  if (state.startsWith("22") || state.startsWith("54")) return new StoreDataError("value", state);
  if (state.startsWith("23")) return new StoreDataError("constraint", state);
  return error;
}

/** Locks the user's row and reads its head; null when there is no row yet. */
async function lockExistingUser(tx: Queryable, userId: string): Promise<number | null> {
  // A row lock, not an update: no new row version per batch (the write statement updates
  // the head anyway).
  const [row] = await tx.query<{ seq: number }>(
    "select seq from users where user_id = $1 for update",
    [userId],
  );
  return row ? row.seq : null;
}

/** Locks the owner's row (a user's, or a team's: sync/teams.ts), creating it when missing. */
export async function lockUser(tx: Queryable, userId: string): Promise<number> {
  // A team's row is never of the free tier, whose jobs drop version history.
  const [row] = await tx.query<{ seq: number }>(
    `insert into users (user_id, tier) values ($1, $2)
     on conflict (user_id) do update set seq = users.seq returning seq`,
    [userId, isTeamOwner(userId) ? "team" : "free"],
  );
  return row.seq;
}

/**
 * Everything a batch decides against, in one statement (one round trip): the change_ids
 * seen before, the current items, and the owners of the batch's dedupe keys.
 */
async function readBatchState(
  tx: Queryable,
  userId: string,
  reads: BatchReads,
): Promise<Pick<BatchSnapshot, "applied" | "items" | "dedupe">> {
  // Each part probes an index once per key whatever the statistics say, and whatever they
  // said when a connection cached the statement's plan: lateral subqueries with `limit 1`
  // (the keys are unique, and the limit keeps them from being flattened into a join that the
  // planner may run as a hash join over all of the user's rows). `change_id = any(…)` is not
  // enough: a plan made while the user had few rows reads all of them and filters.
  // Changes stored as sent keep no applied_changes row: the item version they wrote holds
  // their change_id (see 003_push_bookkeeping.sql); an applied_changes row comes first. A
  // retry names the same item, so a version still current is found among the items read by
  // key (knownByVersion), and only the history is probed by change_id: four probes a change
  // instead of five (a batch of 500 new commands: its read 1-1.5 ms shorter). The
  // items_change index (003) is no longer read; it stays while an older instance, which
  // probes it, may still run beside this one during an upgrade.
  const rows = await tx.query<
    ItemRow & {
      kind: "recorded" | "superseded" | "item" | "dedupe";
      status: string | null;
      conflict_id: string | null;
    }
  >(
    `with wanted as materialized (select jsonb_array_elements_text($2::jsonb)::uuid as id)
     select 'recorded' as kind, a.collection, a.item_id as id, a.version, null::jsonb as data,
       null::bool as deleted, null::bool as redacted, null::bigint as modified_at,
       null::uuid as device_id, a.change_id, a.seq, null::uuid as dedupe_key, null::text as author,
       a.status, a.conflict_id
     from wanted w cross join lateral (select collection, item_id, version, change_id, seq, status,
       conflict_id from applied_changes where user_id = $1 and change_id = w.id limit 1) a
     union all
     select 'superseded', v.collection, v.id, v.version, null, null, null, null, null, v.change_id, v.seq,
       null, null, null, null
     from wanted w cross join lateral (select collection, id, version, change_id, seq
       from item_versions where user_id = $1 and change_id = w.id limit 1) v
     union all
     select 'item', i.*, null, null from jsonb_to_recordset($3::jsonb) as k(c text, i text)
     cross join lateral (select ${ITEM_COLUMNS} from items
       where user_id = $1 and collection = k.c and id = k.i limit 1) i
     union all
     select 'dedupe', i.*, null, null
     from jsonb_to_recordset($4::jsonb) as k(c text, k uuid)
     cross join lateral (select ${ITEM_COLUMNS} from items
       where user_id = $1 and collection = k.c and dedupe_key = k.k limit 1) i`,
    [
      userId,
      JSON.stringify(reads.changeIds),
      // One-letter keys, as for item rows (ITEM_RECORD).
      JSON.stringify(reads.items.map((key) => ({ c: key.collection, i: key.id }))),
      JSON.stringify(reads.dedupeKeys.map((key) => ({ c: key.collection, k: key.dedupe_key }))),
    ],
  );
  const applied = new Map<string, AppliedRow>();
  const items = new Map<string, ItemRow>();
  const superseded: ItemRow[] = [];
  const dedupe = new Map<string, string>();
  for (const { kind, status, conflict_id, ...row } of rows) {
    if (kind === "item") items.set(itemKey(row.collection, row.id), row);
    else if (kind === "dedupe") dedupe.set(itemKey(row.collection, row.dedupe_key!), row.id);
    else if (kind === "superseded") superseded.push(row);
    else applied.set(row.change_id!, { ...appliedAt(row), status: status!, conflict_id });
  }
  knownByVersion(applied, reads.changeIds, items, superseded);
  return { applied, items, dedupe };
}

/**
 * Adds to `applied` (the recorded outcomes) every other change of the batch that was seen
 * before, by the version it wrote: current (among `items`) before superseded. A recorded
 * outcome wins over the version a change wrote (a stale change settled by a strategy has
 * both, with the same version).
 */
function knownByVersion(
  applied: Map<string, AppliedRow>,
  changeIds: string[],
  items: Map<string, ItemRow>,
  superseded: ItemRow[],
): void {
  const wanted = new Set(changeIds);
  for (const row of [...items.values(), ...superseded]) {
    const changeId = row.change_id;
    if (changeId !== null && wanted.has(changeId) && !applied.has(changeId)) {
      applied.set(changeId, appliedAt(row));
    }
  }
}

/** A change stored as sent, as the item version it wrote records it. */
function appliedAt(
  row: Pick<ItemRow, "change_id" | "collection" | "id" | "version" | "seq">,
): AppliedRow {
  return {
    change_id: row.change_id!,
    collection: row.collection,
    item_id: row.id,
    status: "applied",
    version: row.version,
    conflict_id: null,
    seq: row.seq,
  };
}

/** The conflict's status under its row lock (a second resolve waits, then sees it closed). */
async function lockConflict(
  tx: Queryable,
  userId: string,
  conflictId: string,
): Promise<ConflictRow["status"] | null> {
  const [row] = await tx.query<{ status: ConflictRow["status"] }>(
    "select status from conflicts where user_id = $1 and id = $2 for update",
    [userId, conflictId],
  );
  return row?.status ?? null;
}

async function readBases(
  tx: Queryable,
  userId: string,
  keys: { collection: string; id: string; version: number }[],
): Promise<Map<string, ItemRow>> {
  if (keys.length === 0) return new Map();
  const rows = await tx.query<ItemRow>(
    `select v.collection, v.id, v.version, v.data, v.deleted, false as redacted, v.modified_at,
       v.device_id, v.change_id, v.seq, null::uuid as dedupe_key, v.author
     from jsonb_to_recordset($2::jsonb) as k(collection text, id text, version int)
     join item_versions v on v.user_id = $1 and v.collection = k.collection and v.id = k.id
       and v.version = k.version`,
    [userId, JSON.stringify(keys)],
  );
  return new Map(rows.map((row) => [versionKey(row.collection, row.id, row.version), row]));
}

// At most three statements, sent and not awaited (the transaction waits for them). The parts
// of the second touch different tables, so their order does not matter (history rows are
// copies taken before the batch), and the transaction makes them land together or not at all.
// Command dedupe keys may move between items within the batch: their uniqueness is checked
// at commit (004_deferred_dedupe.sql), so the order of rows within a statement is free.
function sendWrites(tx: Queryable, userId: string, writes: BatchWrites): void {
  if (writes.changedItems.length > 0) {
    void tx.query(
      `update items i set version = r.v, data = r.d, deleted = r.x, redacted = r.r,
         modified_at = r.m, device_id = r.g, change_id = r.h, seq = r.s, dedupe_key = r.k,
         author = r.a, updated_at = now()
       from jsonb_to_recordset($2::jsonb) as r(${ITEM_RECORD})
       where i.user_id = $1 and i.collection = r.c and i.id = r.i`,
      [userId, itemRecords(writes.changedItems)],
    );
  }
  void tx.query(
    `with history as (
       insert into item_versions (user_id, collection, id, version, data, deleted, modified_at, device_id, seq, change_id, author)
       select $1, r.c, r.i, r.v, r.d, r.x, r.m, r.g, r.s, r.h, r.a
       from jsonb_to_recordset($2::jsonb) as r(${ITEM_RECORD})
       on conflict do nothing
     ), conflicts as (
       insert into conflicts (id, user_id, collection, item_id, strategy, base, local, remote, change_id)
       select r.id, $1, r.collection, r.item_id, r.strategy, r.base, r.local, r.remote, r.change_id
       from jsonb_to_recordset($4::jsonb) as r(id uuid, collection text, item_id text, strategy text,
         base jsonb, local jsonb, remote jsonb, change_id uuid)
     ), applied as (
       insert into applied_changes (user_id, change_id, collection, item_id, status, version, conflict_id, seq, strategy)
       select $1, r.change_id, r.collection, r.item_id, r.status, r.version, r.conflict_id, r.seq, r.strategy
       from jsonb_to_recordset($5::jsonb) as r(change_id uuid, collection text, item_id text,
         status text, version int, conflict_id uuid, seq bigint, strategy text)
       on conflict do nothing
     ), head as (
       update users set seq = $6 where user_id = $1 and seq <> $6
     )
     -- Known new: the batch read them absent under the user's lock, so no conflict clause.
     insert into items (user_id, ${ITEM_COLUMNS})
     select $1, ${ITEM_VALUES} from jsonb_to_recordset($3::jsonb) as r(${ITEM_RECORD})`,
    [
      userId,
      itemRecords(writes.history),
      itemRecords(writes.newItems),
      JSON.stringify(writes.conflicts),
      JSON.stringify(writes.applied),
      writes.head,
    ],
  );
  if (writes.closeConflict) {
    const { id, resolution, version } = writes.closeConflict;
    void tx.query(
      `update conflicts set status = 'resolved', resolution = $3, resolved_version = $4,
         resolved_at = now()
       where user_id = $1 and id = $2 and status = 'open'`,
      [userId, id, resolution, version],
    );
  }
}

/** Item rows as the JSON parameter that ITEM_RECORD reads. */
function itemRecords(rows: ItemRow[]): string {
  return JSON.stringify(rows.map((row) => ({
    c: row.collection,
    i: row.id,
    v: row.version,
    d: row.data,
    x: row.deleted,
    r: row.redacted,
    m: row.modified_at,
    g: row.device_id,
    h: row.change_id,
    s: row.seq,
    k: row.dedupe_key,
    a: row.author,
  })));
}
