import type { Driver, Queryable } from "./driver.ts";
import type { Account } from "../sync/tiers.ts";
import {
  type AppliedRow,
  type AuthenticatedDevice,
  type BatchReads,
  type BatchSnapshot,
  type BatchWrites,
  type ConflictRow,
  type DeviceRow,
  itemKey,
  type ItemRow,
  type PullPage,
  type StoreStats,
  type SyncStore,
  versionKey,
} from "../sync/store.ts";

const ITEM_COLUMNS =
  "collection, id, version, data, deleted, redacted, modified_at, device_id, change_id, seq, dedupe_key";
const ITEM_RECORD =
  "collection text, id text, version int, data jsonb, deleted bool, redacted bool, modified_at bigint, device_id uuid, change_id uuid, seq bigint, dedupe_key text";
const CONFLICT_COLUMNS =
  "id, collection, item_id, status, strategy, base, local, remote, change_id, resolution, resolved_version, created_at, resolved_at";
const DEVICE_COLUMNS =
  "d.id, d.user_id, d.name, d.platform, d.install_id, d.app_version, d.cursor, d.created_at, d.last_seen_at";

/**
 * The SQL of the service, identical for postgres.js and PGlite. Sets travel as one JSON
 * parameter expanded with jsonb_to_recordset, so a batch of 500 is a handful of statements.
 */
export class Store implements SyncStore {
  constructor(readonly driver: Driver) {}

  async saveAccount(account: Account): Promise<void> {
    await upsertAccount(this.driver, account);
  }

  async registerDevice(
    account: Account,
    input: { name: string; platform: string; install_id?: string; app_version?: string },
    tokenHash: string,
    maxDevices: number,
  ): Promise<{ device: DeviceRow; created: boolean } | "limit"> {
    return await this.driver.transaction(async (tx) => {
      await upsertAccount(tx, account);
      await lockUser(tx, account.userId);
      if (input.install_id) {
        const [existing] = await tx.query<DeviceRow>(
          `update devices d set name = $3, platform = $4, app_version = $5, token_hash = $6,
             last_seen_at = now()
           where user_id = $1 and install_id = $2 returning ${DEVICE_COLUMNS}`,
          [
            account.userId,
            input.install_id,
            input.name,
            input.platform,
            input.app_version ?? null,
            tokenHash,
          ],
        );
        if (existing) return { device: existing, created: false };
      }
      const [{ n }] = await tx.query<{ n: number }>(
        "select count(*)::int as n from devices where user_id = $1",
        [account.userId],
      );
      if (n >= maxDevices) return "limit";
      const [device] = await tx.query<DeviceRow>(
        `insert into devices as d (id, user_id, name, platform, install_id, app_version, token_hash, last_seen_at)
         values ($1, $2, $3, $4, $5, $6, $7, now()) returning ${DEVICE_COLUMNS}`,
        [
          crypto.randomUUID(),
          account.userId,
          input.name,
          input.platform,
          input.install_id ?? null,
          input.app_version ?? null,
          tokenHash,
        ],
      );
      return { device, created: true };
    });
  }

  async findDeviceByTokenHash(tokenHash: string): Promise<AuthenticatedDevice | null> {
    const [row] = await this.driver.query<
      DeviceRow & { tier: string; tier_expires_at: Date | null; team_id: string | null }
    >(
      `select ${DEVICE_COLUMNS}, u.tier, u.tier_expires_at, u.team_id
       from devices d join users u on u.user_id = d.user_id where d.token_hash = $1`,
      [tokenHash],
    );
    if (!row) return null;
    const { tier, tier_expires_at, team_id, ...device } = row;
    return {
      device,
      account: {
        userId: device.user_id,
        tier: tier as Account["tier"],
        tierExpiresAt: tier_expires_at ? tier_expires_at.getTime() : null,
        teamId: team_id,
      },
    };
  }

  async touchDevice(deviceId: string): Promise<void> {
    await this.driver.query("update devices set last_seen_at = now() where id = $1", [deviceId]);
  }

  async listDevices(userId: string): Promise<DeviceRow[]> {
    return await this.driver.query<DeviceRow>(
      `select ${DEVICE_COLUMNS} from devices d where d.user_id = $1 order by d.created_at, d.id`,
      [userId],
    );
  }

  async deleteDevice(userId: string, deviceId: string): Promise<boolean> {
    const rows = await this.driver.query(
      "delete from devices where user_id = $1 and id = $2 returning id",
      [userId, deviceId],
    );
    return rows.length > 0;
  }

  async setDeviceCursor(userId: string, deviceId: string, seq: number): Promise<void> {
    // Cursors only move forward: a late ack from a slow socket must not rewind receipts.
    await this.driver.query(
      `update devices set cursor = greatest(cursor, least($3, (select seq from users where user_id = $1))),
         last_seen_at = now() where user_id = $1 and id = $2`,
      [userId, deviceId, seq],
    );
  }

  async writeBatch<T>(
    userId: string,
    reads: BatchReads,
    decide: (snapshot: BatchSnapshot) => { writes: BatchWrites; result: T },
  ): Promise<T> {
    return await this.driver.transaction(async (tx) => {
      // must: take the user's lock before reading, so the batch decides against the state
      // it will write over and its sequence numbers follow commit order.
      // Sent together: one connection runs them in order, so the reads still follow the
      // lock and see everything committed before it, without a round trip each.
      const [head, applied, items, dedupe] = await Promise.all([
        lockUser(tx, userId),
        readApplied(tx, userId, reads.changeIds),
        readItems(tx, userId, reads.items),
        readDedupe(tx, userId, reads.dedupeKeys),
      ]);
      const bases = await readBases(tx, userId, reads.bases(items));
      const { writes, result } = decide({ head, applied, items, bases, dedupe });
      await storeWrites(tx, userId, head, writes);
      return result;
    });
  }

  async pull(
    userId: string,
    since: number,
    collections: readonly string[],
    limit: number,
  ): Promise<PullPage> {
    const [user] = await this.driver.query<{ seq: number; purged_seq: number }>(
      "select seq, purged_seq from users where user_id = $1",
      [userId],
    );
    const rows = await this.driver.query<ItemRow>(
      `select ${ITEM_COLUMNS} from items
       where user_id = $1 and seq > $2
         and collection = any(array(select jsonb_array_elements_text($3::jsonb)))
       order by seq limit $4`,
      [userId, since, JSON.stringify(collections), limit],
    );
    return { rows, head: user?.seq ?? 0, purgedSeq: user?.purged_seq ?? 0 };
  }

  async getItem(userId: string, collection: string, id: string): Promise<ItemRow | null> {
    const [row] = await this.driver.query<ItemRow>(
      `select ${ITEM_COLUMNS} from items where user_id = $1 and collection = $2 and id = $3`,
      [userId, collection, id],
    );
    return row ?? null;
  }

  async listConflicts(userId: string, status: "open" | "resolved"): Promise<ConflictRow[]> {
    return await this.driver.query<ConflictRow>(
      `select ${CONFLICT_COLUMNS} from conflicts where user_id = $1 and status = $2
       order by created_at, id limit 1000`,
      [userId, status],
    );
  }

  async getConflict(userId: string, conflictId: string): Promise<ConflictRow | null> {
    const [row] = await this.driver.query<ConflictRow>(
      `select ${CONFLICT_COLUMNS} from conflicts where user_id = $1 and id = $2`,
      [userId, conflictId],
    );
    return row ?? null;
  }

  async closeConflict(userId: string, conflictId: string, resolution: string): Promise<boolean> {
    const rows = await this.driver.query(
      `update conflicts set status = 'resolved', resolution = $3, resolved_at = now()
       where user_id = $1 and id = $2 and status = 'open' returning id`,
      [userId, conflictId, resolution],
    );
    return rows.length > 0;
  }

  async reopenConflict(userId: string, conflictId: string): Promise<void> {
    await this.driver.query(
      `update conflicts set status = 'open', resolution = null, resolved_at = null
       where user_id = $1 and id = $2`,
      [userId, conflictId],
    );
  }

  async setConflictVersion(
    userId: string,
    conflictId: string,
    version: number | null,
  ): Promise<void> {
    await this.driver.query(
      "update conflicts set resolved_version = $3 where user_id = $1 and id = $2",
      [userId, conflictId, version],
    );
  }

  async stats(userId: string): Promise<StoreStats> {
    const [user] = await this.driver.query<{ seq: number }>(
      "select seq from users where user_id = $1",
      [userId],
    );
    const collections = await this.driver.query<
      { collection: string; items: number; deleted: number }
    >(
      `select collection, count(*) filter (where not deleted)::int as items,
         count(*) filter (where deleted)::int as deleted
       from items where user_id = $1 group by collection order by collection`,
      [userId],
    );
    const [conflicts] = await this.driver.query<{ open: number; resolved: number }>(
      `select count(*) filter (where status = 'open')::int as open,
         count(*) filter (where status = 'resolved')::int as resolved
       from conflicts where user_id = $1`,
      [userId],
    );
    const outcomes = await this.driver.query<{ strategy: string; status: string; count: number }>(
      `select strategy, status, count(*)::int as count from applied_changes
       where user_id = $1 and strategy is not null group by strategy, status order by strategy, status`,
      [userId],
    );
    const [filtered] = await this.driver.query<{ n: number }>(
      "select count(*)::int as n from applied_changes where user_id = $1 and status = 'filtered'",
      [userId],
    );
    return { head: user?.seq ?? 0, collections, conflicts, outcomes, filtered: filtered.n };
  }
}

function prefixed(alias: string, columns: string): string {
  return columns.split(", ").map((column) => `${alias}.${column}`).join(", ");
}

async function upsertAccount(db: Queryable, account: Account): Promise<void> {
  await db.query(
    `insert into users (user_id, tier, tier_expires_at, team_id) values ($1, $2, $3, $4)
     on conflict (user_id) do update set tier = excluded.tier, tier_expires_at = excluded.tier_expires_at,
       team_id = excluded.team_id, updated_at = now()
     where (users.tier, users.tier_expires_at, users.team_id)
       is distinct from (excluded.tier, excluded.tier_expires_at, excluded.team_id)`,
    [
      account.userId,
      account.tier,
      account.tierExpiresAt === null ? null : new Date(account.tierExpiresAt).toISOString(),
      account.teamId,
    ],
  );
}

async function lockUser(tx: Queryable, userId: string): Promise<number> {
  const [row] = await tx.query<{ seq: number }>(
    `insert into users (user_id) values ($1)
     on conflict (user_id) do update set seq = users.seq returning seq`,
    [userId],
  );
  return row.seq;
}

async function readApplied(
  tx: Queryable,
  userId: string,
  changeIds: string[],
): Promise<Map<string, AppliedRow>> {
  if (changeIds.length === 0) return new Map();
  const rows = await tx.query<AppliedRow>(
    `select a.change_id, a.collection, a.item_id, a.status, a.version, a.conflict_id, a.seq
     from jsonb_array_elements_text($2::jsonb) as k(change_id)
     join applied_changes a on a.user_id = $1 and a.change_id = k.change_id::uuid`,
    [userId, JSON.stringify(changeIds)],
  );
  return new Map(rows.map((row) => [row.change_id, row]));
}

async function readItems(
  tx: Queryable,
  userId: string,
  keys: { collection: string; id: string }[],
): Promise<Map<string, ItemRow>> {
  if (keys.length === 0) return new Map();
  const rows = await tx.query<ItemRow>(
    `select ${prefixed("i", ITEM_COLUMNS)}
     from jsonb_to_recordset($2::jsonb) as k(collection text, id text)
     join items i on i.user_id = $1 and i.collection = k.collection and i.id = k.id`,
    [userId, JSON.stringify(keys)],
  );
  return new Map(rows.map((row) => [itemKey(row.collection, row.id), row]));
}

async function readBases(
  tx: Queryable,
  userId: string,
  keys: { collection: string; id: string; version: number }[],
): Promise<Map<string, ItemRow>> {
  if (keys.length === 0) return new Map();
  const rows = await tx.query<ItemRow>(
    `select v.collection, v.id, v.version, v.data, v.deleted, false as redacted, v.modified_at,
       v.device_id, null::uuid as change_id, v.seq, null::text as dedupe_key
     from jsonb_to_recordset($2::jsonb) as k(collection text, id text, version int)
     join item_versions v on v.user_id = $1 and v.collection = k.collection and v.id = k.id
       and v.version = k.version`,
    [userId, JSON.stringify(keys)],
  );
  return new Map(rows.map((row) => [versionKey(row.collection, row.id, row.version), row]));
}

async function readDedupe(
  tx: Queryable,
  userId: string,
  keys: { collection: string; dedupe_key: string }[],
): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const rows = await tx.query<{ collection: string; dedupe_key: string; id: string }>(
    `select i.collection, i.dedupe_key, i.id
     from jsonb_to_recordset($2::jsonb) as k(collection text, dedupe_key text)
     join items i on i.user_id = $1 and i.collection = k.collection and i.dedupe_key = k.dedupe_key`,
    [userId, JSON.stringify(keys)],
  );
  return new Map(rows.map((row) => [itemKey(row.collection, row.dedupe_key), row.id]));
}

// Written in one pipeline: the statements are independent (history rows are copies
// taken before the batch), and the transaction makes them land together or not at all.
async function storeWrites(tx: Queryable, userId: string, head: number, writes: BatchWrites) {
  const statements: [rows: unknown[], sql: string][] = [
    [
      writes.history,
      `insert into item_versions (user_id, collection, id, version, data, deleted, modified_at, device_id, seq)
       select $1, r.collection, r.id, r.version, r.data, r.deleted, r.modified_at, r.device_id, r.seq
       from jsonb_to_recordset($2::jsonb) as r(${ITEM_RECORD})
       on conflict do nothing`,
    ],
    [
      writes.items,
      `insert into items (user_id, ${ITEM_COLUMNS})
       select $1, ${ITEM_COLUMNS} from jsonb_to_recordset($2::jsonb) as r(${ITEM_RECORD})
       on conflict (user_id, collection, id) do update set
         version = excluded.version, data = excluded.data, deleted = excluded.deleted,
         redacted = excluded.redacted, modified_at = excluded.modified_at,
         device_id = excluded.device_id, change_id = excluded.change_id, seq = excluded.seq,
         dedupe_key = excluded.dedupe_key, updated_at = now()`,
    ],
    [
      writes.conflicts,
      `insert into conflicts (id, user_id, collection, item_id, strategy, base, local, remote, change_id)
       select r.id, $1, r.collection, r.item_id, r.strategy, r.base, r.local, r.remote, r.change_id
       from jsonb_to_recordset($2::jsonb) as r(id uuid, collection text, item_id text, strategy text,
         base jsonb, local jsonb, remote jsonb, change_id uuid)`,
    ],
    [
      writes.applied,
      `insert into applied_changes (user_id, change_id, collection, item_id, status, version, conflict_id, seq, strategy)
       select $1, r.change_id, r.collection, r.item_id, r.status, r.version, r.conflict_id, r.seq, r.strategy
       from jsonb_to_recordset($2::jsonb) as r(change_id uuid, collection text, item_id text,
         status text, version int, conflict_id uuid, seq bigint, strategy text)
       on conflict do nothing`,
    ],
  ];
  await Promise.all([
    ...statements.filter(([rows]) => rows.length > 0).map(([rows, sql]) =>
      tx.query(sql, [userId, JSON.stringify(rows)])
    ),
    ...(writes.head === head
      ? []
      : [tx.query("update users set seq = $2 where user_id = $1", [userId, writes.head])]),
  ]);
}
