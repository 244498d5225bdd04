import type { Driver } from "./driver.ts";
import type { ConflictTexts, StoredTexts } from "../sync/redaction.ts";
import { writeTombstones } from "./tombstone_sql.ts";

const IN_COLLECTIONS = "collection = any(array(select jsonb_array_elements_text($2::jsonb)))";

/** Pages of an owner's stored texts, in sequence order, each item with its history. */
export async function itemTexts(
  driver: Driver,
  owner: string,
  collections: readonly string[],
  afterSeq: number,
  limit: number,
): Promise<StoredTexts[]> {
  const rows = await driver.query<
    { seq: number; collection: string; id: string; data: unknown; history: unknown[] | null }
  >(
    `select i.seq, i.collection, i.id, i.data,
       (select jsonb_agg(v.data) from item_versions v
        where v.user_id = i.user_id and v.collection = i.collection and v.id = i.id) as history
     from items i
     where i.user_id = $1 and i.${IN_COLLECTIONS} and i.seq > $3 and not i.redacted
     order by i.seq limit $4`,
    [owner, JSON.stringify(collections), afterSeq, limit],
  );
  return rows.map(({ seq, collection, id, data, history }) => ({
    seq: Number(seq),
    collection,
    id,
    texts: [data, ...history ?? []],
  }));
}

/** Pages of an owner's conflicts, in id order, each with the versions it copied. */
export async function conflictTexts(
  driver: Driver,
  owner: string,
  collections: readonly string[],
  afterId: string | null,
  limit: number,
): Promise<ConflictTexts[]> {
  const rows = await driver.query<
    {
      id: string;
      collection: string;
      item_id: string;
      base: unknown;
      local: unknown;
      remote: unknown;
    }
  >(
    `select id, collection, item_id, base, local, remote from conflicts
     where user_id = $1 and ${IN_COLLECTIONS} and ($3::uuid is null or id > $3::uuid)
     order by id limit $4`,
    [owner, JSON.stringify(collections), afterId, limit],
  );
  return rows.map(({ id, collection, item_id, base, local, remote }) => ({
    id,
    collection,
    item_id,
    texts: [base, local, remote],
  }));
}

/**
 * Erases items in one transaction under the owner's lock: their conflicts, then (with their
 * history) the items themselves, replaced by redacted tombstones (tombstone_sql.ts).
 */
export async function redactItems(
  driver: Driver,
  owner: string,
  items: readonly { collection: string; id: string }[],
  nowMs: number,
): Promise<{ head: number; count: number; collections: string[] }> {
  return await driver.transaction(async (tx) => {
    const written = await writeTombstones(
      tx,
      owner,
      items.map(({ collection, id }) => ({ collection, id, version: null })),
      { nowMs, redacted: true },
    );
    await tx.query(
      `delete from conflicts c using jsonb_to_recordset($2::jsonb) as k(c text, i text)
       where c.user_id = $1 and c.collection = k.c and c.item_id = k.i`,
      [owner, JSON.stringify(items.map(({ collection, id }) => ({ c: collection, i: id })))],
    );
    return written;
  });
}
