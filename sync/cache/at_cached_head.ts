import type { Since } from "../cursor.ts";
import { teamOwner } from "../teams.ts";
import type { SyncCache } from "./sync_cache.ts";

/**
 * True when the cache knows `since` to be the device's heads (its user's stream, and its
 * team's): nothing committed after it, so a pull or a `hello` there needs no query. A
 * cached head is never ahead of a commit and every writer advances it before answering
 * (SyncCache), so equal means nothing new. An unreachable cache, an unknown head or an
 * expired cursor (which must be answered 410) is a miss.
 */
export async function atCachedHead(
  cache: SyncCache | null | undefined,
  userId: string,
  team: string | null,
  since: Since,
): Promise<boolean> {
  if (!cache || since.expired || (since.user === 0 && since.team === 0)) return false;
  const head = (owner: string) => cache.head(owner).catch(() => null);
  const [user, teams] = await Promise.all([
    head(userId),
    team === null ? since.team : head(teamOwner(team)),
  ]);
  return user === since.user && teams === since.team;
}
