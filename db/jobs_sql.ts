import type { Driver, Queryable } from "./driver.ts";
import type {
  CommandRow,
  ItemAtVersion,
  JobsStore,
  JobsTx,
  Tombstoned,
} from "../sync/jobs/jobs_store.ts";
import { TEAM_OWNER_PREFIX } from "../sync/teams.ts";
import { analyzeGrownTables } from "./statistics_sql.ts";
import { keepChangeIds, writeTombstones } from "./tombstone_sql.ts";
import { memberDevicesSql, teamOfOwnerSql, teamPartSql } from "./team_devices_sql.ts";

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
    const { head, count } = await writeTombstones(this.tx, userId, items, {
      nowMs,
      redacted: false,
    });
    return { head, count };
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

  analyzeGrownTables(): Promise<string[]> {
    return analyzeGrownTables(this.tx);
  }
}

/**
 * The highest sequence number every active device (seen, or registered, since the
 * `activeSince` parameter) of owner `u` has acknowledged; the owner's head when no device
 * is active (a device coming back later gets 410 and pulls from scratch). A team's owner
 * row (sync/teams.ts) counts the devices of the team's members in the team's stream
 * (db/team_devices_sql.ts).
 */
function horizon(u: string, activeSince: string): string {
  const active = `coalesce(d.last_seen_at, d.created_at) >= ${activeSince}`;
  const team = teamOfOwnerSql(`${u}.user_id`);
  return `case when ${u}.user_id like '${TEAM_OWNER_PREFIX}%' then
    coalesce((select min(${teamPartSql(team)}) from ${memberDevicesSql(team)} and ${active}),
      ${u}.seq)
    else coalesce((select min(d.cursor) from devices d where d.user_id = ${u}.user_id
      and ${active}), ${u}.seq) end`;
}
