import type { Driver, Queryable } from "./driver.ts";
import type {
  CommandRow,
  ItemAtVersion,
  JobsStore,
  JobsTx,
  Tombstoned,
} from "../sync/jobs/jobs_store.ts";
import { TEAM_OWNER_PREFIX, TEAM_SYNC_TIERS } from "../sync/teams.ts";

// Any constant works; it only has to be the same for every instance of the service.
const JOBS_LOCK = 0x64704a62;

/** A command's `started_at`: the expression of the items_command_started index (007_jobs.sql). */
const STARTED_AT =
  "(case when jsonb_typeof(data -> 'started_at') = 'number' then (data ->> 'started_at')::numeric end)";
const LIVE_COMMANDS = `collection = 'commands' and not deleted`;

/** The scheduled jobs' SQL, the same on postgres.js and PGlite. */
export class JobsSql implements JobsStore {
  constructor(readonly driver: Driver) {}

  async locked<T>(step: (tx: JobsTx) => Promise<T>): Promise<{ value: T } | null> {
    return await this.driver.transaction(async (tx) => {
      const [{ locked }] = await tx.query<{ locked: boolean }>(
        "select pg_try_advisory_xact_lock($1) as locked",
        [JOBS_LOCK],
      );
      return locked ? { value: await step(new JobsQueries(tx)) } : null;
    });
  }
}

class JobsQueries implements JobsTx {
  constructor(readonly tx: Queryable) {}

  async freeUsersWithCommandsBefore(
    cutoffMs: number,
    afterUserId: string,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.tx.query<{ user_id: string }>(
      `select u.user_id from users u
       where u.tier = 'free' and u.user_id > $2 and exists (
         select 1 from items where user_id = u.user_id and ${LIVE_COMMANDS} and ${STARTED_AT} <= $1)
       order by u.user_id limit $3`,
      [cutoffMs, afterUserId, limit],
    );
    return rows.map((r) => r.user_id);
  }

  async commandsBefore(
    userId: string,
    cutoffMs: number,
    limit: number,
    after?: { startedAt: number; id: string },
  ): Promise<CommandRow[]> {
    const rows = await this.tx.query<
      {
        id: string;
        version: number;
        started_at: string;
        command: string | null;
        cwd: string | null;
        host: string | null;
      }
    >(
      `select id, version, ${STARTED_AT}::text as started_at, data ->> 'command' as command,
         data ->> 'cwd' as cwd, data ->> 'host' as host
       from items
       where user_id = $1 and ${LIVE_COMMANDS} and ${STARTED_AT} <= $2
         and (${STARTED_AT}, id) > ($3::numeric, $4::text)
       order by ${STARTED_AT}, id limit $5`,
      [userId, cutoffMs, after?.startedAt ?? -1, after?.id ?? "", limit],
    );
    return rows.map((r) => ({
      id: r.id,
      version: r.version,
      startedAt: Number(r.started_at),
      command: r.command ?? "",
      ...(r.cwd !== null && { cwd: r.cwd }),
      ...(r.host !== null && { host: r.host }),
    }));
  }

  async usersWithExpireRules(
    afterUserId: string,
    limit: number,
  ): Promise<{ userId: string; settings: Record<string, unknown> | null }[]> {
    const rows = await this.tx.query<{ user_id: string; data: Record<string, unknown> | null }>(
      `select user_id, data from items
       where collection = 'settings' and id = 'sync'
         and data -> 'history_rules' @> '[{"action": "expire"}]' and user_id > $1
       order by user_id limit $2`,
      [afterUserId, limit],
    );
    return rows.map((r) => ({ userId: r.user_id, settings: r.data }));
  }

  async tombstone(
    userId: string,
    items: readonly ItemAtVersion[],
    nowMs: number,
  ): Promise<Tombstoned> {
    // must: take the user's lock before numbering, as a push does (batch_sql.ts runBatch),
    // so sequence numbers follow commit order and no cursor skips a tombstone.
    const [user] = await this.tx.query<{ seq: number }>(
      "select seq from users where user_id = $1 for update",
      [userId],
    );
    if (!user || items.length === 0) return { head: user?.seq ?? 0, count: 0 };
    const keys = JSON.stringify(items.map((k) => ({ c: k.collection, i: k.id, v: k.version })));
    // must: before the tombstones overwrite them. Every change_id the items and their
    // history carry moves to applied_changes, so a retried push is still recognised.
    await this.tx.query(
      `with targets as (
         select i.collection, i.id from items i
         join jsonb_to_recordset($2::jsonb) as k(c text, i text, v int)
           on i.user_id = $1 and i.collection = k.c and i.id = k.i and i.version = k.v
         where not i.deleted
       ), history as (
         delete from item_versions v using targets t
         where v.user_id = $1 and v.collection = t.collection and v.id = t.id
         returning v.collection, v.id, v.version, v.seq, v.change_id
       ), current as (
         select i.collection, i.id, i.version, i.seq, i.change_id from items i
         join targets t on i.user_id = $1 and i.collection = t.collection and i.id = t.id
       )
       ${keepChangeIds("$1", "(select * from history union all select * from current)")}`,
      [userId, keys],
    );
    const [{ seq }] = await this.tx.query<{ seq: number }>(
      `with targets as (
         select i.collection, i.id, row_number() over (order by i.collection, i.id) as n
         from items i
         join jsonb_to_recordset($2::jsonb) as k(c text, i text, v int)
           on i.user_id = $1 and i.collection = k.c and i.id = k.i and i.version = k.v
         where not i.deleted
       ), tombstoned as (
         update items i set version = i.version + 1, data = null, deleted = true, redacted = false,
           modified_at = $4, device_id = null, change_id = null, dedupe_key = null,
           seq = $3 + t.n, updated_at = $5
         from targets t
         where i.user_id = $1 and i.collection = t.collection and i.id = t.id
         returning i.seq
       )
       update users set seq = coalesce((select max(seq) from tombstoned), seq)
       where user_id = $1 returning seq`,
      [userId, keys, user.seq, nowMs, new Date(nowMs).toISOString()],
    );
    return { head: seq, count: seq - user.seq };
  }

  async dropFreeHistory(limit: number): Promise<number> {
    const [{ n }] = await this.tx.query<{ n: number }>(
      `with doomed as (
         delete from item_versions v where (v.user_id, v.collection, v.id, v.version) in (
           select h.user_id, h.collection, h.id, h.version
           from users u join item_versions h on h.user_id = u.user_id
           where u.tier = 'free' limit $1)
         returning v.user_id, v.collection, v.id, v.version, v.seq, v.change_id
       ), kept as (${keepChangeIds("user_id", "doomed")})
       select count(*)::int as n from doomed`,
      [limit],
    );
    return n;
  }

  async usersWithPurgeableTombstones(
    cutoff: Date,
    activeSince: Date,
    afterUserId: string,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.tx.query<{ user_id: string }>(
      `select u.user_id from users u
       where u.user_id > $3 and exists (
         select 1 from items i where i.user_id = u.user_id and i.deleted and i.updated_at < $1
           and i.seq <= ${horizon("u", "$2")})
       order by u.user_id limit $4`,
      [cutoff.toISOString(), activeSince.toISOString(), afterUserId, limit],
    );
    return rows.map((r) => r.user_id);
  }

  async purgeTombstones(
    userId: string,
    cutoff: Date,
    activeSince: Date,
    limit: number,
  ): Promise<{ purged: number; purgedSeq: number }> {
    // The same lock a push takes: no push decides against a tombstone being purged.
    await this.tx.query("select seq from users where user_id = $1 for update", [userId]);
    const [row] = await this.tx.query<{ purged: number; purged_seq: number }>(
      `with doomed as (
         delete from items i where i.user_id = $1 and (i.collection, i.id) in (
           select t.collection, t.id from items t join users u on u.user_id = t.user_id
           where t.user_id = $1 and t.deleted and t.updated_at < $2 and t.seq <= ${
        horizon("u", "$3")
      }
           order by t.seq limit $4)
         returning i.collection, i.id, i.version, i.seq, i.change_id
       ), history as (
         delete from item_versions v using doomed d
         where v.user_id = $1 and v.collection = d.collection and v.id = d.id
         returning v.collection, v.id, v.version, v.seq, v.change_id
       ), kept as (
         ${keepChangeIds("$1", "(select * from doomed union all select * from history)")}
       ), moved as (
         -- must: a cursor older than any purged tombstone can no longer be served (410).
         update users set purged_seq = greatest(purged_seq, (select max(seq) from doomed))
         where user_id = $1 and exists (select 1 from doomed) returning purged_seq
       )
       select (select count(*)::int from doomed) as purged,
         coalesce((select purged_seq from moved), (select purged_seq from users where user_id = $1))
           as purged_seq`,
      [userId, cutoff.toISOString(), activeSince.toISOString(), limit],
    );
    return { purged: row.purged, purgedSeq: row.purged_seq };
  }
}

/**
 * Records the change_ids of `rows` (item versions about to be deleted or overwritten:
 * collection, id, version, seq, change_id) as applied, so a retried push of one of them is
 * still answered `duplicate` (003_push_bookkeeping.sql).
 */
function keepChangeIds(userId: string, rows: string): string {
  return `insert into applied_changes (user_id, change_id, collection, item_id, status, version, seq)
    select ${userId}, change_id, collection, id, 'applied', version, seq from ${rows} r
    where change_id is not null
    on conflict do nothing`;
}

/**
 * The highest sequence number every active device (seen, or registered, since the
 * `activeSince` parameter) of owner `u` has acknowledged; the owner's head when no device
 * is active (a device coming back later gets 410 and pulls from scratch). A team's owner
 * row (sync/teams.ts) counts the devices of the team's members (users whose newest token
 * names the team, with a tier that syncs it) in the team's stream; a device whose
 * acknowledged team part counts another team has applied none of this one's.
 */
function horizon(u: string, activeSince: string): string {
  const active = `coalesce(d.last_seen_at, d.created_at) >= ${activeSince}`;
  const tiers = TEAM_SYNC_TIERS.map((tier) => `'${tier}'`).join(", ");
  return `case when ${u}.user_id like '${TEAM_OWNER_PREFIX}%' then
    coalesce((select min(case when d.cursor_team_id = m.team_id then d.team_cursor else 0 end)
      from users m join devices d on d.user_id = m.user_id
      where m.team_id = substr(${u}.user_id, ${TEAM_OWNER_PREFIX.length + 1})
        and m.tier in (${tiers}) and ${active}), ${u}.seq)
    else coalesce((select min(d.cursor) from devices d where d.user_id = ${u}.user_id
      and ${active}), ${u}.seq) end`;
}
