import type { Collection } from "./collections.ts";
import type { PreparedChange } from "./push_planner.ts";
import { ownerOf, TEAM_COLLECTION, teamWriteRefusal } from "./teams.ts";
import type { Account } from "./tiers.ts";

/** One owner's part of a push batch: its changes in batch order, and their batch indices. */
export interface OwnerPart {
  /** A user id, or a team's owner key (sync/teams.ts). */
  owner: string;
  changes: PreparedChange[];
  indices: number[];
}

/**
 * Splits a push batch by the owner of each change's item: the user's part first (every
 * change the user's own transaction answers, the rejected ones included), then the team's
 * (`team_ssh_profiles` of a team admin), each stored in a transaction of its own under its
 * owner's lock. A team change this account or device may not write is rejected where it
 * stands, with `FORBIDDEN`, and never reaches the team's transaction. Pure.
 *
 * `allowed`: the collections this device sends (selective sync and its device policy), read
 * from the user's settings; only consulted when the batch holds a team change.
 */
export function splitByOwner(
  prepared: readonly PreparedChange[],
  account: Account,
  allowed: () => ReadonlySet<Collection>,
): OwnerPart[] {
  const mine: OwnerPart = { owner: account.userId, changes: [], indices: [] };
  const team: OwnerPart = { owner: "", changes: [], indices: [] };
  prepared.forEach((p, index) => {
    if (!p.ok || p.change.collection !== TEAM_COLLECTION) {
      mine.changes.push(p);
      mine.indices.push(index);
      return;
    }
    const refusal = teamWriteRefusal(account) ?? (allowed().has(TEAM_COLLECTION) ? null : {
      code: "FORBIDDEN" as const,
      message: `Collection ${TEAM_COLLECTION} is not synced for this device`,
    });
    const part = refusal ? mine : team;
    part.changes.push(refusal ? { ok: false, change_id: p.change.change_id, error: refusal } : p);
    part.indices.push(index);
    if (!refusal) team.owner = ownerOf(TEAM_COLLECTION, account);
  });
  return [mine, team].filter((part) => part.changes.length > 0);
}
