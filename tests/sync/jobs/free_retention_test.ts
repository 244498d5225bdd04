import assert from "node:assert/strict";
import { decodeCursor } from "../../../sync/cursor.ts";
import { openTestApp } from "../../support/app.ts";
import { change } from "../../support/changes.ts";
import { withDrivers } from "../../support/drivers.ts";
import { DAY_MS, pullAll, type Pulled, pushCommands, testRunner } from "./support.ts";

withDrivers("free-tier retention job", (_open, kind) => {
  Deno.test({
    name: "tombstones free users' commands run over 7 days ago, as pushes do, and keeps the rest",
    fn: async () => {
      await using t = await openTestApp(kind);
      const now = Date.now();
      const free = await t.device("free-ret", "phone", "free");
      const pro = await t.device("pro-ret", "phone", "pro");
      const { changes } = await pushCommands(t, free.token, [
        { text: "old one", startedAt: now - 8 * DAY_MS },
        { text: "recent", startedAt: now - 6 * DAY_MS },
        { text: "old two", startedAt: now - 30 * DAY_MS },
      ]);
      await pushCommands(t, pro.token, [{ text: "old pro", startedAt: now - 400 * DAY_MS }]);
      const before = await pullAll(t, free.token) as Pulled;

      const { runner, notified } = testRunner(t, () => now);
      const report = await runner.runOnce();

      assert.equal(report.tombstoned, 2);
      assert.equal(report.interrupted, null);
      const after = await pullAll(t, free.token, before.cursor) as Pulled;
      // Only the two tombstones are new, each with the next sequence number, like a delete.
      assert.deepEqual(
        after.changes.map((c) => [c.id, c.version, c.deleted, c.data, c.device_id]).sort(),
        [changes[0].id, changes[2].id].sort().map((id) => [id, 2, true, null, null]),
      );
      assert.deepEqual(
        after.changes.map((c) => decodeCursor(c.cursor)),
        [decodeCursor(before.cursor) + 1, decodeCursor(before.cursor) + 2],
      );
      assert.deepEqual(notified, [{ userId: "free-ret", head: decodeCursor(after.cursor) }]);
      // The pro user's history is unlimited.
      const proState = await pullAll(t, pro.token) as Pulled;
      assert.deepEqual(proState.changes.map((c) => c.deleted), [false]);
      // A second run finds nothing more.
      assert.equal((await runner.runOnce()).tombstoned, 0);
    },
  });

  Deno.test({
    name: "a retried push of a tombstoned command changes nothing and answers duplicate",
    fn: async () => {
      await using t = await openTestApp(kind);
      const now = Date.now();
      const free = await t.device("free-retry", "phone", "free");
      const { changes } = await pushCommands(t, free.token, [
        { text: "old", startedAt: now - 9 * DAY_MS },
      ]);
      await testRunner(t, () => now).runner.runOnce();
      const head = (await pullAll(t, free.token) as Pulled).cursor;
      const retry = await t.request("POST", "/api/sync/data", {
        token: free.token,
        body: { changes },
      });
      assert.deepEqual((await retry.json()).results, [{
        change_id: changes[0].change_id,
        status: "duplicate",
        version: 1,
      }]);
      assert.equal((await pullAll(t, free.token) as Pulled).cursor, head);
    },
  });

  Deno.test({
    name: "free users keep no prior versions; retries of superseded changes are still recognised",
    fn: async () => {
      await using t = await openTestApp(kind);
      const free = await t.device("free-hist", "phone", "free");
      const pro = await t.device("pro-hist", "phone", "pro");
      const first = change("settings", "ui", { theme: "dark" });
      const second = change("settings", "ui", { theme: "light" }, { base_version: 1 });
      for (const d of [free, pro]) {
        for (const c of [first, second]) {
          const res = await t.request("POST", "/api/sync/data", {
            token: d.token,
            body: {
              changes: [{ ...c, change_id: d === free ? c.change_id : crypto.randomUUID() }],
            },
          });
          assert.equal(res.status, 200);
        }
      }
      const versions = async () => [
        ...await t.db.driver.query<{ user_id: string; n: number }>(
          "select user_id, count(*)::int as n from item_versions group by user_id order by user_id",
        ),
      ];
      assert.deepEqual(await versions(), [
        { user_id: "free-hist", n: 1 },
        { user_id: "pro-hist", n: 1 },
      ]);
      const report = await testRunner(t, Date.now).runner.runOnce();
      assert.equal(report.historyDropped, 1);
      assert.deepEqual(await versions(), [{ user_id: "pro-hist", n: 1 }]);
      const retry = await t.request("POST", "/api/sync/data", {
        token: free.token,
        body: { changes: [first] },
      });
      assert.deepEqual((await retry.json()).results, [{
        change_id: first.change_id,
        status: "duplicate",
        version: 1,
      }]);
    },
  });

  Deno.test({
    name: "bounded batches: 2,500 old commands go in statements of at most 1,000, all of them",
    fn: async () => {
      await using t = await openTestApp(kind);
      const now = Date.now();
      const free = await t.device("free-many", "phone", "free");
      for (let batch = 0; batch < 5; batch++) {
        await pushCommands(
          t,
          free.token,
          Array.from({ length: 500 }, (_, i) => ({
            text: `cmd ${batch}-${i}`,
            startedAt: now - 10 * DAY_MS + batch * 500 + i,
          })),
        );
      }
      const { runner, notified } = testRunner(t, () => now);
      const report = await runner.runOnce();
      assert.equal(report.tombstoned, 2_500);
      // One notification per committed step: 1,000 + 1,000 + 500.
      assert.equal(notified.length, 3);
      const [{ live }] = await t.db.driver.query<{ live: number }>(
        "select count(*) filter (where not deleted)::int as live from items where user_id = 'free-many'",
      );
      assert.equal(live, 0);
    },
  });
});
