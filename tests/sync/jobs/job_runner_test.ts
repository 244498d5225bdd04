import assert from "node:assert/strict";
import { JobsSql } from "../../../db/jobs_sql.ts";
import { openPostgresDriver } from "../../../db/postgres_driver.ts";
import type { JobsStore } from "../../../sync/jobs/jobs_store.ts";
import { openTestApp } from "../../support/app.ts";
import { withDrivers } from "../../support/drivers.ts";
import { DAY_MS, pushCommands, testRunner } from "./support.ts";

Deno.test("[postgres] two job runners on one Postgres at once: one works at a time, work done once", async () => {
  await using t = await openTestApp("postgres");
  const now = Date.now();
  const users = Array.from({ length: 20 }, (_, i) => `lock-${i}`);
  for (const user of users) {
    const d = await t.device(user, "phone", "free");
    await pushCommands(
      t,
      d.token,
      [1, 2, 3].map((n) => ({ text: `old ${n}`, startedAt: now - 8 * DAY_MS })),
    );
  }
  const second = openPostgresDriver(t.db.url!, { max: 2 });
  try {
    // Counts steps that hold the lock at the same time, across both runners.
    let inside = 0;
    let most = 0;
    const watched = (store: JobsStore): JobsStore => ({
      locked: (step) =>
        store.locked(async (tx) => {
          most = Math.max(most, ++inside);
          try {
            return await step(tx);
          } finally {
            inside--;
          }
        }),
    });
    const one = testRunner(t, () => now, { store: watched(new JobsSql(t.db.driver)) }).runner;
    const two = testRunner(t, () => now, { store: watched(new JobsSql(second)) }).runner;
    const reports = await Promise.all([one.runOnce(), two.runOnce()]);

    assert.equal(most, 1);
    assert.ok(
      reports.some((r) => r.interrupted === "lock_held_elsewhere"),
      JSON.stringify(reports),
    );
    // Whatever ran was done once: 60 tombstones, each one version up, heads 3 up.
    const done = reports.reduce((n, r) => n + r.tombstoned, 0);
    const [{ versions, heads }] = await t.db.driver.query<{ versions: number[]; heads: number[] }>(
      `select array(select distinct version from items where user_id like 'lock-%') as versions,
         array(select distinct seq from users where user_id like 'lock-%') as heads`,
    );
    const [{ live }] = await t.db.driver.query<{ live: number }>(
      "select count(*) filter (where not deleted)::int as live from items where user_id like 'lock-%'",
    );
    assert.equal(done + live, 60);
    if (live === 0) {
      assert.deepEqual(versions, [2]);
      assert.deepEqual(heads, [6]);
    }
    // The runner that yielded finishes the rest next time; nothing is done twice.
    const rest = await one.runOnce();
    assert.equal(done + rest.tombstoned, 60);
    const [{ final }] = await t.db.driver.query<{ final: number[] }>(
      "select array(select distinct seq from users where user_id like 'lock-%') as final",
    );
    assert.deepEqual(final, [6]);
  } finally {
    await second.close();
  }
});

Deno.test("[pglite] a run past its time budget stops between steps and the next one finishes", async () => {
  await using t = await openTestApp("pglite");
  const now = Date.now();
  const d = await t.device("budget", "phone", "free");
  await pushCommands(t, d.token, [{ text: "old", startedAt: now - 8 * DAY_MS }]);
  const stopped = await testRunner(t, () => now, { timeBudgetMs: -1 }).runner.runOnce();
  assert.deepEqual([stopped.interrupted, stopped.tombstoned], ["time_budget", 0]);
  const finished = await testRunner(t, () => now).runner.runOnce();
  assert.deepEqual([finished.interrupted, finished.tombstoned], [null, 1]);
});

withDrivers("jobs", (_open, kind) => {
  Deno.test({
    name:
      "refresh the statistics of a table that grew, once, so pulls walk the (user_id, seq) index",
    fn: async () => {
      await using t = await openTestApp(kind);
      const { runner } = testRunner(t, Date.now);
      // An empty table keeps no statistics: planned as empty, a cached plan of each lookup
      // would scan the whole table once it filled.
      assert.ok(!(await runner.runOnce()).analyzed.includes("items"));
      // The activity counters reach the statistics the job reads when a session flushes
      // them (at most every second, or ten when idle): this one flushes at commit.
      await t.db.driver.transaction(async (tx) => {
        await tx.query(
          `insert into items (user_id, collection, id, version, data, modified_at, seq)
           select 'grown', 'commands', 'c' || g, 1, '{}', 1, g from generate_series(1, 3000) g`,
        );
        await tx.query("select pg_stat_force_next_flush()");
      });
      const first = await runner.runOnce();
      assert.ok(first.analyzed.includes("items"), JSON.stringify(first));
      const [{ reltuples }] = await t.db.driver.query<{ reltuples: number }>(
        "select reltuples from pg_class where relname = 'items'",
      );
      assert.equal(reltuples, 3000);
      // Nothing grew since: nothing to analyze.
      assert.deepEqual((await runner.runOnce()).analyzed, []);
      // With statistics, a page of a pull is an ordered index walk, not a sort of all rows.
      const plan = await t.db.driver.query<Record<string, string>>(
        `explain select * from items where user_id = 'grown' and seq > 0 order by seq limit 1000`,
      );
      const text = plan.map((row) => Object.values(row)[0]).join("\n");
      assert.match(text, /Index Scan using items_user_seq/);
      assert.doesNotMatch(text, /Sort/);
    },
  });
});
