import type { Queryable } from "./driver.ts";
import { isTeamOwner, teamOfOwner } from "../sync/teams.ts";
import type { ReceivingDevice } from "../sync/receipts.ts";
import type { DeviceRow } from "../sync/sync_store.ts";
import { memberDevicesSql, teamPartSql } from "./team_devices_sql.ts";

const DEVICE_COLUMNS =
  "d.id, d.user_id, d.name, d.platform, d.install_id, d.app_version, d.cursor, d.team_cursor, d.cursor_team_id, d.created_at, d.last_seen_at";

/** The head of each owner's stream (0 for an owner with no row yet). */
export async function ownerHeads(
  q: Queryable,
  owners: readonly string[],
): Promise<Map<string, number>> {
  const rows = await q.query<{ user_id: string; seq: number }>(
    `select user_id, seq from users
     where user_id = any(array(select jsonb_array_elements_text($1::jsonb)))`,
    [JSON.stringify(owners)],
  );
  const heads = new Map(owners.map((owner) => [owner, 0]));
  for (const row of rows) heads.set(row.user_id, Number(row.seq));
  return heads;
}

/**
 * The devices that receive `owner`'s stream, each with the position it acknowledged in
 * it: a user's own devices; for a team's owner key, every seen device of the team's
 * members (db/team_devices_sql.ts, as tombstone compaction counts them).
 */
export async function receivingDevices(q: Queryable, owner: string): Promise<ReceivingDevice[]> {
  const rows = isTeamOwner(owner)
    ? await q.query<DeviceRow & { acknowledged: number }>(
      `select ${DEVICE_COLUMNS}, ${teamPartSql("$1")} as acknowledged
       from ${memberDevicesSql("$1")} and d.last_seen_at is not null
       order by d.user_id, d.created_at, d.id`,
      [teamOfOwner(owner)],
    )
    : await q.query<DeviceRow & { acknowledged: number }>(
      `select ${DEVICE_COLUMNS}, d.cursor as acknowledged from devices d
       where d.user_id = $1 order by d.created_at, d.id`,
      [owner],
    );
  return rows.map(({ acknowledged, ...device }) => ({
    device,
    acknowledged: Number(acknowledged),
  }));
}
