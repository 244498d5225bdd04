/**
 * Team sync (DESIGN.md §11): who receives and who may write a team's items, and the owner
 * key that stores them.
 *
 * A team's items live in the same tables as a user's, owned by the pseudo-user
 * `team:<team_id>`: its `users` row holds the team's change sequence and `purged_seq` and is
 * row-locked by team writes exactly as a user's row is by the user's, so every guarantee
 * proven for a user's stream (sequence in commit order, idempotent retries, history,
 * tombstones) holds for a team's. No account can be that pseudo-user: account tokens whose
 * `sub` starts with {@link TEAM_OWNER_PREFIX} are refused (sync/account_tokens.ts), and
 * migration 008 refuses to run over a user row that already does.
 */
import type { ChangeResult } from "./api_schemas.ts";
import type { Collection } from "./collections.ts";
import type { Account, Tier, Upgrade } from "./tiers.ts";

/** The one collection a team owns. */
export const TEAM_COLLECTION = "team_ssh_profiles" satisfies Collection;

/** Owner keys of teams start with this; no user id may. */
export const TEAM_OWNER_PREFIX = "team:";

/** The tiers that include team sync (DESIGN.md §8: team, and enterprise where configured). */
export const TEAM_SYNC_TIERS: readonly Tier[] = ["team", "enterprise"];

/** The owner key under which a team's items are stored. */
export function teamOwner(teamId: string): string {
  return TEAM_OWNER_PREFIX + teamId;
}

/** True for a team's owner key. */
export function isTeamOwner(owner: string): boolean {
  return owner.startsWith(TEAM_OWNER_PREFIX);
}

/** The team id of an owner key, or null for a user's. */
export function teamOfOwner(owner: string): string | null {
  return isTeamOwner(owner) ? owner.slice(TEAM_OWNER_PREFIX.length) : null;
}

/** The owner of a collection's items for this account: its team for team items. */
export function ownerOf(collection: string, account: Account): string {
  const team = collection === TEAM_COLLECTION ? syncedTeam(account) : null;
  return team === null ? account.userId : teamOwner(team);
}

/**
 * The team whose items the account's devices receive: the newest token's `team_id` when
 * its tier includes team sync (an expired tier still reads), else none. A change of it
 * (another team, none, or a tier without team sync) expires every cursor of the user's
 * devices, which then resync from scratch (DESIGN.md §11).
 */
export function syncedTeam(account: Pick<Account, "tier" | "teamId">): string | null {
  return account.teamId !== null && TEAM_SYNC_TIERS.includes(account.tier) ? account.teamId : null;
}

/**
 * Why this account may not write its team's items, or null when it may (a team admin of a
 * tier with team sync). Every refusal is `FORBIDDEN` for that change alone; a tier without
 * team sync also carries `details.upgrade` (DESIGN.md §8).
 */
export function teamWriteRefusal(account: Account): NonNullable<ChangeResult["error"]> | null {
  if (!TEAM_SYNC_TIERS.includes(account.tier)) {
    const upgrade: Upgrade = { tier: "team", reason: "team_sync" };
    return {
      code: "FORBIDDEN",
      message: `Team sync is not part of the ${account.tier} tier`,
      details: { upgrade },
    };
  }
  if (account.teamId === null) {
    return { code: "FORBIDDEN", message: "The account belongs to no team" };
  }
  if (account.teamRole !== "admin") {
    return { code: "FORBIDDEN", message: "Only team admins write team items" };
  }
  return null;
}
