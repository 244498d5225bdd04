import { TIER_LIMITS } from "../tiers.ts";
import type { JobContext } from "./job_step.ts";

const DAY_MS = 86_400_000;

/**
 * Free tier (DESIGN.md §8): commands run more than 7 days ago become tombstones, and no
 * prior versions are kept. Age is `started_at`, when the command ran: that is the age
 * the user sees in their history, and an old history imported today is no more "recent"
 * than it was yesterday.
 */
export async function freeRetention(
  ctx: JobContext,
  counts: { tombstoned: number; historyDropped: number },
): Promise<void> {
  const cutoff = ctx.now - TIER_LIMITS.free.historyDays! * DAY_MS;
  let after = "";
  for (;;) {
    const users = await ctx.step((tx) =>
      tx.freeUsersWithCommandsBefore(cutoff, after, ctx.batchSize)
    );
    for (const userId of users) {
      for (;;) {
        const done = await ctx.step(async (tx) => {
          const rows = await tx.commandsBefore(userId, cutoff, ctx.batchSize);
          const items = rows.map((r) => ({ collection: "commands", id: r.id, version: r.version }));
          return {
            more: rows.length === ctx.batchSize,
            ...await tx.tombstone(userId, items, ctx.now),
          };
        });
        counts.tombstoned += done.count;
        if (done.count > 0) await ctx.notify(userId, done.head);
        if (!done.more) break;
      }
    }
    if (users.length < ctx.batchSize) break;
    after = users.at(-1)!;
  }
  for (;;) {
    const dropped = await ctx.step((tx) => tx.dropFreeHistory(ctx.batchSize));
    counts.historyDropped += dropped;
    if (dropped < ctx.batchSize) break;
  }
}
