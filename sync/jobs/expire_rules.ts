import { historyRuleMatcher } from "../privacy_filter.ts";
import { readSyncSettings } from "../sync_settings.ts";
import type { JobContext } from "./job_step.ts";

/**
 * `history_rules` with `action: "expire"` (DESIGN.md §7): a matching command becomes a
 * tombstone `ttl_seconds` after its `started_at`, on every device. Each rule scans the
 * user's live commands old enough for it, page by page; those that match are tombstoned
 * at the version that matched (a command edited since is judged again next run).
 */
export async function expireRules(ctx: JobContext, counts: { expired: number }): Promise<void> {
  let after = "";
  for (;;) {
    const users = await ctx.step((tx) => tx.usersWithExpireRules(after, ctx.batchSize));
    for (const { userId, settings } of users) {
      const rules = (readSyncSettings(settings).history_rules ?? [])
        .filter((rule) => rule.action === "expire" && rule.ttl_seconds !== undefined);
      for (const rule of rules) {
        const matches = historyRuleMatcher(rule.match, false);
        const cutoff = ctx.now - rule.ttl_seconds! * 1000;
        let page: { startedAt: number; id: string } | undefined;
        for (;;) {
          const done = await ctx.step(async (tx) => {
            const rows = await tx.commandsBefore(userId, cutoff, ctx.batchSize, page);
            const items = rows.filter((row) => matches(row))
              .map((r) => ({ collection: "commands", id: r.id, version: r.version }));
            const last = rows.at(-1);
            return {
              next: rows.length === ctx.batchSize && last
                ? { startedAt: last.startedAt, id: last.id }
                : undefined,
              ...await tx.tombstone(userId, items, ctx.now),
            };
          });
          counts.expired += done.count;
          if (done.count > 0) await ctx.notify(userId, done.head);
          if (!done.next) break;
          page = done.next;
        }
      }
    }
    if (users.length < ctx.batchSize) break;
    after = users.at(-1)!.userId;
  }
}
