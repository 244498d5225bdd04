import type { JobContext } from "./job_step.ts";

const DAY_MS = 86_400_000;

/** How long tombstones are kept, and how long a silent device holds compaction back. */
export interface CompactionPolicy {
  /** TOMBSTONE_RETENTION_DAYS: tombstones stored longer than this may be purged. */
  tombstoneRetentionDays: number;
  /**
   * DEVICE_INACTIVE_DAYS: a device not seen for this long no longer holds compaction back;
   * if it returns with an older cursor its pull answers 410 and it resyncs from scratch.
   */
  deviceInactiveDays: number;
}

/**
 * Tombstone compaction (DESIGN.md §10): tombstones older than the retention that every
 * active device has acknowledged are deleted, and the owner's `purged_seq` moves past
 * them, so a pull from an older cursor answers 410 `SYNC_CURSOR_EXPIRED`. Devices already
 * applied them, so nothing is published. A team's tombstones wait for every active device
 * of every member (the team part of their acknowledged cursors, db/jobs_sql.ts).
 */
export async function compactTombstones(
  ctx: JobContext,
  policy: CompactionPolicy,
  counts: { purged: number },
): Promise<void> {
  const cutoff = new Date(ctx.now - policy.tombstoneRetentionDays * DAY_MS);
  const activeSince = new Date(ctx.now - policy.deviceInactiveDays * DAY_MS);
  let after = "";
  for (;;) {
    const users = await ctx.step((tx) =>
      tx.usersWithPurgeableTombstones(cutoff, activeSince, after, ctx.batchSize)
    );
    for (const userId of users) {
      for (;;) {
        const { purged } = await ctx.step((tx) =>
          tx.purgeTombstones(userId, cutoff, activeSince, ctx.batchSize)
        );
        counts.purged += purged;
        if (purged < ctx.batchSize) break;
      }
    }
    if (users.length < ctx.batchSize) break;
    after = users.at(-1)!;
  }
}
