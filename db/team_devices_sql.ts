import { TEAM_OWNER_PREFIX, TEAM_SYNC_TIERS } from "../sync/teams.ts";

/**
 * Which devices receive a team's stream, and how far each has acknowledged it: one
 * definition for tombstone compaction (has every active device applied a tombstone?,
 * db/jobs_sql.ts) and for delete receipts (which device has applied an item?,
 * db/receipts_sql.ts), so the two never disagree about a device.
 * @module
 */

/** SQL: the team id of a team's owner key (sync/teams.ts), given as an SQL expression. */
export function teamOfOwnerSql(owner: string): string {
  return `substr(${owner}, ${TEAM_OWNER_PREFIX.length + 1})`;
}

/**
 * SQL `from … where …` of the devices `d` of the members `m` of team `team` (an SQL
 * expression): users whose newest token names the team, with a tier that syncs it. More
 * conditions may follow with `and`.
 */
export function memberDevicesSql(team: string): string {
  const tiers = TEAM_SYNC_TIERS.map((tier) => `'${tier}'`).join(", ");
  return `users m join devices d on d.user_id = m.user_id
    where m.team_id = ${team} and m.tier in (${tiers})`;
}

/**
 * SQL: the position device `d` acknowledged in team `team`'s stream. A team part that counts
 * another team (the device acknowledged before its user changed team) counts none of it.
 */
export function teamPartSql(team: string): string {
  return `case when d.cursor_team_id = ${team} then d.team_cursor else 0 end`;
}
