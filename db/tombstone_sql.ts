import type { Queryable } from "./driver.ts";

/** An item to tombstone; with a `version`, only while it is still at that version. */
export interface TombstoneTarget {
  collection: string;
  id: string;
  version: number | null;
}

/** What tombstoning left: the owner's new head, how many items, and their collections. */
export interface TombstonesWritten {
  head: number;
  count: number;
  collections: string[];
}

/**
 * Turns items into tombstones as a push of deletes would: under the owner's row lock, each
 * taking the next number of the owner's sequence, so pulls, the WAL listener and receipts
 * see them like any delete. Their history goes with them; every change_id they carried is
 * kept in applied_changes first (003_push_bookkeeping.sql).
 *
 * Jobs (`redacted: false`) leave tombstones and items changed since they decided alone.
 * Redaction (`redacted: true`) takes every target in whatever state, tombstones included:
 * the text to erase may be in a tombstone's history.
 */
export async function writeTombstones(
  tx: Queryable,
  owner: string,
  targets: readonly TombstoneTarget[],
  { nowMs, redacted }: { nowMs: number; redacted: boolean },
): Promise<TombstonesWritten> {
  // must: take the owner's lock before numbering, as a push does (batch_sql.ts runBatch),
  // so sequence numbers follow commit order and no cursor skips a tombstone.
  const [user] = await tx.query<{ seq: number }>(
    "select seq from users where user_id = $1 for update",
    [owner],
  );
  if (!user || targets.length === 0) return { head: user?.seq ?? 0, count: 0, collections: [] };
  const keys = JSON.stringify(targets.map((k) => ({ c: k.collection, i: k.id, v: k.version })));
  const chosen = `select i.collection, i.id from items i
    join jsonb_to_recordset($2::jsonb) as k(c text, i text, v int)
      on i.user_id = $1 and i.collection = k.c and i.id = k.i
        and (k.v is null or i.version = k.v)
    where $3::bool or not i.deleted`;
  // must: before the tombstones overwrite them.
  await tx.query(
    `with targets as (${chosen}), history as (
       delete from item_versions v using targets t
       where v.user_id = $1 and v.collection = t.collection and v.id = t.id
       returning v.collection, v.id, v.version, v.seq, v.change_id
     ), current as (
       select i.collection, i.id, i.version, i.seq, i.change_id from items i
       join targets t on i.user_id = $1 and i.collection = t.collection and i.id = t.id
     )
     ${keepChangeIds("$1", "(select * from history union all select * from current)")}`,
    [owner, keys, redacted],
  );
  const [row] = await tx.query<{ seq: number; collections: string[] | null }>(
    `with targets as (
       select t.*, row_number() over (order by t.collection, t.id) as n from (${chosen}) t
     ), tombstoned as (
       update items i set version = i.version + 1, data = null, deleted = true, redacted = $3,
         modified_at = $5, device_id = null, change_id = null, dedupe_key = null,
         seq = $4 + t.n, updated_at = $6
       from targets t
       where i.user_id = $1 and i.collection = t.collection and i.id = t.id
       returning i.seq, i.collection
     ), moved as (
       update users set seq = coalesce((select max(seq) from tombstoned), seq)
       where user_id = $1 returning seq
     )
     select (select seq from moved) as seq,
       (select jsonb_agg(distinct collection order by collection) from tombstoned) as collections`,
    [owner, keys, redacted, user.seq, nowMs, new Date(nowMs).toISOString()],
  );
  return { head: row.seq, count: row.seq - user.seq, collections: row.collections ?? [] };
}

/**
 * Records the change_ids of `rows` (item versions about to be deleted or overwritten:
 * collection, id, version, seq, change_id) as applied, so a retried push of one of them is
 * still answered `duplicate` (003_push_bookkeeping.sql).
 */
export function keepChangeIds(userId: string, rows: string): string {
  return `insert into applied_changes (user_id, change_id, collection, item_id, status, version, seq)
    select ${userId}, change_id, collection, id, 'applied', version, seq from ${rows} r
    where change_id is not null
    on conflict do nothing`;
}
