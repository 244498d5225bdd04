import assert from "node:assert/strict";
import { openTestApp } from "../../support/app.ts";
import { change } from "../../support/changes.ts";
import { withDrivers } from "../../support/drivers.ts";
import { DAY_MS, pullAll, type Pulled, pushCommands, testRunner } from "./support.ts";

const HOUR_MS = 3_600_000;

withDrivers("expire history rules job", (_open, kind) => {
  Deno.test({
    name: "tombstones matching commands ttl_seconds after they ran, history included",
    fn: async () => {
      await using t = await openTestApp(kind);
      const now = Date.now();
      const d = await t.device("expiring", "phone", "pro");
      const rules = change("settings", "sync", {
        history_rules: [
          { match: { pattern: "^ls\\b" }, action: "expire", ttl_seconds: 3600 },
          { match: { cwd: "/tmp" }, action: "expire", ttl_seconds: 86_400 },
          { match: { pattern: "secret-ish" }, action: "local_only" },
        ],
      });
      assert.equal(
        (await t.request("POST", "/api/sync/data", { token: d.token, body: { changes: [rules] } }))
          .status,
        200,
      );
      const { changes } = await pushCommands(t, d.token, [
        { text: "ls -la", startedAt: now - 2 * HOUR_MS },
        { text: "ls", startedAt: now - HOUR_MS / 2 },
        { text: "make", startedAt: now - 2 * DAY_MS, cwd: "/tmp/build" },
        { text: "make test", startedAt: now - 2 * DAY_MS, cwd: "/home/me" },
        { text: "lsblk", startedAt: now - 2 * HOUR_MS },
      ]);
      // An edit of an expiring command: its prior version must go too.
      const edited = { ...changes[0], change_id: crypto.randomUUID(), base_version: 1 };
      (edited.data as Record<string, unknown>).exit_code = 0;
      await t.request("POST", "/api/sync/data", { token: d.token, body: { changes: [edited] } });
      const before = await pullAll(t, d.token) as Pulled;

      const { runner, notified } = testRunner(t, () => now);
      const report = await runner.runOnce();

      assert.equal(report.expired, 2);
      const after = await pullAll(t, d.token, before.cursor) as Pulled;
      assert.deepEqual(
        after.changes.map((c) => [c.id, c.deleted]).sort(),
        [[changes[0].id, true], [changes[2].id, true]].sort(),
      );
      assert.equal(notified.length, 2);
      const history = await t.db.driver.query<{ id: string }>(
        "select id from item_versions where user_id = 'expiring' and collection = 'commands'",
      );
      assert.deepEqual([...history], []);
      // Still there: too young, no rule matches, `\b` keeps `lsblk` out.
      const live = (await pullAll(t, d.token) as Pulled).changes
        .filter((c) => !c.deleted && c.data?.command).map((c) => c.data!.command).sort();
      assert.deepEqual(live, ["ls", "lsblk", "make test"]);
      // The young one expires once its hour has passed.
      assert.equal((await testRunner(t, () => now + HOUR_MS).runner.runOnce()).expired, 1);
    },
  });

  Deno.test({
    name: "users without expire rules are left alone",
    fn: async () => {
      await using t = await openTestApp(kind);
      const now = Date.now();
      const d = await t.device("no-rules", "phone", "pro");
      await pushCommands(t, d.token, [{ text: "ls", startedAt: now - 100 * DAY_MS }]);
      assert.equal((await testRunner(t, () => now).runner.runOnce()).expired, 0);
    },
  });
});
