import type { Driver } from "./driver.ts";
import { pageOf, pullEncodedPage } from "./pull_sql.ts";
import { ownerHeads, receivingDevices } from "./receipts_sql.ts";
import { conflictTexts, itemTexts, redactItems } from "./redaction_sql.ts";
import type { ReceiptsStore, ReceivingDevice } from "../sync/receipts.ts";
import type { ConflictTexts, RedactionStore, StoredTexts } from "../sync/redaction.ts";
import { ITEM_COLUMNS, lockUser, runBatch } from "./batch_sql.ts";
import type { AccountToken } from "../sync/account_tokens.ts";
import type { Account } from "../sync/tiers.ts";
import { syncedTeam, teamOwner } from "../sync/teams.ts";
import {
  type AuthenticatedDevice,
  type BatchReads,
  type BatchSnapshot,
  type BatchWrites,
  type ConflictRow,
  type DeviceRow,
  type EncodedRow,
  type ItemRow,
  type PullPage,
  type SavedAccount,
  type StoreStats,
  type SyncStore,
} from "../sync/sync_store.ts";

const CONFLICT_COLUMNS =
  "id, collection, item_id, status, strategy, base, local, remote, change_id, resolution, resolved_version, created_at, resolved_at";
const ACCOUNT_COLUMNS = "user_id, tier, tier_expires_at, team_id, team_role";
const DEVICE_COLUMNS =
  "d.id, d.user_id, d.name, d.platform, d.install_id, d.app_version, d.cursor, d.team_cursor, d.cursor_team_id, d.created_at, d.last_seen_at";

/**
 * The SQL of the service, identical for postgres.js and PGlite. Push batches are in
 * batch_sql.ts, pull pages in pull_sql.ts; accounts, devices, conflicts and stats are here.
 */
export class SqlStore implements SyncStore, ReceiptsStore, RedactionStore {
  constructor(readonly driver: Driver) {}

  async saveAccount({ account, issuedAt }: AccountToken): Promise<SavedAccount> {
    const params = [
      account.userId,
      account.tier,
      account.tierExpiresAt === null ? null : new Date(account.tierExpiresAt).toISOString(),
      account.teamId,
      account.teamRole,
      issuedAt,
    ];
    // A few attempts: a user seen for the first time is inserted unless another request
    // inserted it meanwhile; an answer older than this token means a newer one committed
    // while this statement ran, and is read again.
    for (let attempt = 0; attempt < 3; attempt++) {
      // must: a conditional UPDATE, not an upsert: ON CONFLICT DO UPDATE locks the row even
      // when its WHERE fails, and this row is the lock every push of the user takes. A row
      // that needs no change is only read.
      // `before` is the row as this statement's snapshot saw it: what the team changed from.
      const [row] = await this.driver.query<
        AccountRow & {
          token_iat: number | null;
          before_tier: string;
          before_team_id: string | null;
        }
      >(
        `with before as (select tier, team_id from users where user_id = $1),
         updated as (
           update users set tier = $2, tier_expires_at = $3::timestamptz, team_id = $4,
             team_role = $5, token_iat = $6::bigint, updated_at = now()
           where user_id = $1 and (token_iat is null or token_iat <= $6::bigint)
             and (tier, tier_expires_at, team_id, team_role, token_iat)
               is distinct from ($2, $3::timestamptz, $4, $5, $6::bigint)
           returning ${ACCOUNT_COLUMNS}, token_iat)
         select updated.*, before.tier as before_tier, before.team_id as before_team_id
         from updated, before
         union all
         select ${ACCOUNT_COLUMNS}, token_iat, tier, team_id from users
         where user_id = $1 and not exists (select 1 from updated)`,
        params,
      );
      if (row && (row.token_iat === null || row.token_iat >= issuedAt)) {
        const saved = toAccount(row);
        const before = { tier: row.before_tier as Account["tier"], teamId: row.before_team_id };
        return { ...saved, teamChanged: syncedTeam(before) !== syncedTeam(saved) };
      }
      if (row) continue;
      const [inserted] = await this.driver.query<AccountRow>(
        `insert into users (user_id, tier, tier_expires_at, team_id, team_role, token_iat)
         values ($1, $2, $3, $4, $5, $6) on conflict (user_id) do nothing
         returning ${ACCOUNT_COLUMNS}`,
        params,
      );
      // A new user has no device yet: nothing to reconnect.
      if (inserted) return { ...toAccount(inserted), teamChanged: false };
    }
    throw new Error(`Recording the account token of ${account.userId} kept racing`);
  }

  async registerDevice(
    userId: string,
    input: { name: string; platform: string; install_id?: string; app_version?: string },
    tokenHash: string,
    maxDevices: number,
  ): Promise<{ device: DeviceRow; created: boolean } | "limit"> {
    return await this.driver.transaction(async (tx) => {
      await lockUser(tx, userId);
      if (input.install_id) {
        const [existing] = await tx.query<DeviceRow>(
          `update devices d set name = $3, platform = $4, app_version = $5, token_hash = $6,
             last_seen_at = now()
           where user_id = $1 and install_id = $2 returning ${DEVICE_COLUMNS}`,
          [
            userId,
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
        [userId],
      );
      if (n >= maxDevices) return "limit";
      const [device] = await tx.query<DeviceRow>(
        `insert into devices as d (id, user_id, name, platform, install_id, app_version, token_hash, last_seen_at)
         values ($1, $2, $3, $4, $5, $6, $7, now()) returning ${DEVICE_COLUMNS}`,
        [
          crypto.randomUUID(),
          userId,
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
    const [row] = await this.driver.query<DeviceRow & Omit<AccountRow, "user_id">>(
      `select ${DEVICE_COLUMNS}, u.tier, u.tier_expires_at, u.team_id, u.team_role
       from devices d join users u on u.user_id = d.user_id where d.token_hash = $1`,
      [tokenHash],
    );
    if (!row) return null;
    const { tier, tier_expires_at, team_id, team_role, ...device } = row;
    return {
      device,
      account: toAccount({ user_id: device.user_id, tier, tier_expires_at, team_id, team_role }),
    };
  }

  async touchDevices(deviceIds: readonly string[]): Promise<void> {
    await this.driver.query(
      `update devices set last_seen_at = now()
       where id = any(array(select jsonb_array_elements_text($1::jsonb)::uuid))`,
      [JSON.stringify(deviceIds)],
    );
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

  async setDeviceCursor(
    userId: string,
    deviceId: string,
    seq: number,
    team?: { id: string; seq: number },
  ): Promise<void> {
    // Cursors only move forward: a late ack from a slow socket must not rewind receipts. A
    // team part counts its own team's stream: of another team than the stored one, it
    // replaces it (the user changed team). Neither part passes its stream's head.
    await this.driver.query(
      `update devices set cursor = greatest(cursor, least($3, (select seq from users where user_id = $1))),
         team_cursor = case when $4::text is null then team_cursor
           else greatest(case when cursor_team_id = $4::text then team_cursor else 0 end,
             least($5::bigint, coalesce((select seq from users where user_id = $6), 0))) end,
         cursor_team_id = coalesce($4::text, cursor_team_id),
         last_seen_at = now() where user_id = $1 and id = $2`,
      [
        userId,
        deviceId,
        seq,
        team?.id ?? null,
        team?.seq ?? 0,
        team ? teamOwner(team.id) : null,
      ],
    );
  }

  async writeBatch<T>(
    userId: string,
    reads: BatchReads,
    decide: (snapshot: BatchSnapshot) => { writes: BatchWrites; result: T },
  ): Promise<T> {
    return await runBatch(this.driver, userId, reads, decide);
  }

  async pull(
    owner: string,
    since: number,
    collections: readonly string[],
    limit: number,
    { withData = true }: { withData?: boolean } = {},
  ): Promise<PullPage> {
    const columns = withData
      ? ITEM_COLUMNS
      : ITEM_COLUMNS.replace(", data,", ", null::jsonb as data,");
    // One statement, one snapshot: the head and the rows agree, in one round trip. The
    // owner's row comes back once with null item columns when nothing is past `since`, and
    // not at all for an owner never seen.
    const rows = await this.driver.query<ItemRow & { head: number; purged_seq: number }>(
      `select u.seq as head, u.purged_seq, i.* from users u
       left join lateral (${pageOf(columns)}) i on true
       where u.user_id = $1`,
      [owner, since, JSON.stringify(collections), limit],
    );
    const [first] = rows;
    const items: ItemRow[] = [];
    for (const { head: _head, purged_seq: _purged, ...row } of rows) {
      if (row.seq !== null) items.push(row);
    }
    return { rows: items, head: first?.head ?? 0, purgedSeq: first?.purged_seq ?? 0 };
  }

  pullEncoded(
    owner: string,
    since: number,
    collections: readonly string[],
    limit: number,
  ): Promise<PullPage<EncodedRow>> {
    return pullEncodedPage(this.driver, owner, since, collections, limit);
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

  async stats(owner: string): Promise<StoreStats> {
    const [user] = await this.driver.query<{ seq: number }>(
      "select seq from users where user_id = $1",
      [owner],
    );
    const collections = await this.driver.query<
      { collection: string; items: number; deleted: number }
    >(
      `select collection, count(*) filter (where not deleted)::int as items,
         count(*) filter (where deleted)::int as deleted
       from items where user_id = $1 group by collection order by collection`,
      [owner],
    );
    const [conflicts] = await this.driver.query<{ open: number; resolved: number }>(
      `select count(*) filter (where status = 'open')::int as open,
         count(*) filter (where status = 'resolved')::int as resolved
       from conflicts where user_id = $1`,
      [owner],
    );
    const outcomes = await this.driver.query<{ strategy: string; status: string; count: number }>(
      `select strategy, status, count(*)::int as count from applied_changes
       where user_id = $1 and strategy is not null group by strategy, status order by strategy, status`,
      [owner],
    );
    const [filtered] = await this.driver.query<{ n: number }>(
      "select count(*)::int as n from applied_changes where user_id = $1 and status = 'filtered'",
      [owner],
    );
    return { head: user?.seq ?? 0, collections, conflicts, outcomes, filtered: filtered.n };
  }

  // Receipts and redaction keep their SQL in files of their own (receipts_sql.ts,
  // redaction_sql.ts).
  heads(owners: readonly string[]): Promise<Map<string, number>> {
    return ownerHeads(this.driver, owners);
  }

  receivingDevices(owner: string): Promise<ReceivingDevice[]> {
    return receivingDevices(this.driver, owner);
  }

  itemTexts(
    owner: string,
    collections: readonly string[],
    afterSeq: number,
    limit: number,
  ): Promise<StoredTexts[]> {
    return itemTexts(this.driver, owner, collections, afterSeq, limit);
  }

  conflictTexts(
    owner: string,
    collections: readonly string[],
    afterId: string | null,
    limit: number,
  ): Promise<ConflictTexts[]> {
    return conflictTexts(this.driver, owner, collections, afterId, limit);
  }

  redact(
    owner: string,
    items: readonly { collection: string; id: string }[],
    nowMs: number,
  ): Promise<{ head: number; count: number; collections: string[] }> {
    return redactItems(this.driver, owner, items, nowMs);
  }
}

/** The account as the users row stores it (the newest account token seen). */
interface AccountRow {
  user_id: string;
  tier: string;
  tier_expires_at: Date | null;
  team_id: string | null;
  team_role: string;
}

function toAccount(row: AccountRow): Account {
  return {
    userId: row.user_id,
    tier: row.tier as Account["tier"],
    tierExpiresAt: row.tier_expires_at ? row.tier_expires_at.getTime() : null,
    teamId: row.team_id,
    teamRole: row.team_role as Account["teamRole"],
  };
}
