import assert from "node:assert/strict";
import { SqlStore } from "../../../db/sql_store.ts";
import { encodePosition } from "../../../sync/cursor.ts";
import { openTestApp } from "../../support/app.ts";
import { withDrivers } from "../../support/drivers.ts";
import { pushOk } from "../../support/sync_api.ts";
import { profile, teamChange, teamDevice } from "../../support/teams.ts";
import { DAY_MS, pullAll, type Pulled, testRunner } from "./support.ts";

withDrivers("tombstone compaction of a team", (_open, kind) => {
  Deno.test({
    name:
      "purges a team tombstone once every active member device applied it; older cursors get 410",
    fn: async () => {
      await using t = await openTestApp(kind);
      const store = new SqlStore(t.db.driver);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const phone = await teamDevice(t, "bob", "acme", "member", { name: "phone" });
      const tablet = await teamDevice(t, "bob", "acme", "member", { name: "tablet" });
      // Neither counts: Pat's tier does not sync the team, Gil is in another team.
      const pat = await teamDevice(t, "pat", "acme", "member", { tier: "pro" });
      const gil = await teamDevice(t, "gil", "globex");
      await pushOk(t, admin.token, [teamChange("x", profile("x")), teamChange("y", profile("y"))]);
      await pushOk(t, admin.token, [teamChange("y", undefined, { base_version: 1 })]);
      await store.setDeviceCursor("ann", admin.id, 0, { id: "acme", seq: 3 });
      await store.setDeviceCursor("bob", phone.id, 0, { id: "acme", seq: 3 });
      // The tablet applied the team's changes before the delete only.
      await store.setDeviceCursor("bob", tablet.id, 0, { id: "acme", seq: 2 });
      await store.setDeviceCursor("pat", pat.id, 0);
      await store.setDeviceCursor("gil", gil.id, 0, { id: "globex", seq: 0 });
      const now = Date.now();
      const run = async (at: number) => (await testRunner(t, () => at).runner.runOnce()).purged;

      assert.equal(await run(now + 31 * DAY_MS), 0, "the tablet has not applied the delete");
      // An ack that counted another team says nothing of this one.
      await store.setDeviceCursor("bob", tablet.id, 0, { id: "globex", seq: 9 });
      assert.equal(await run(now + 31 * DAY_MS), 0, "the tablet's part counts another team");
      await store.setDeviceCursor("bob", tablet.id, 0, { id: "acme", seq: 3 });
      assert.equal(await run(now + 31 * DAY_MS), 1);

      const [{ purged_seq }] = await t.db.driver.query<{ purged_seq: number }>(
        "select purged_seq from users where user_id = 'team:acme'",
      );
      assert.equal(Number(purged_seq), 3);
      const expired = await pullAll(t, tablet.token, encodePosition({ user: 0, team: 2 }, "acme"));
      assert.equal((expired as Response).status, 410);
      await (expired as Response).body?.cancel();
      const scratch = await pullAll(t, tablet.token) as Pulled;
      assert.deepEqual(scratch.changes.map((c) => [c.id, c.deleted]), [["x", false]]);
      // A device that never held a team item pulls the team from its start: nothing to expire.
      const fresh = await pullAll(t, tablet.token, "c1.0") as Pulled;
      assert.deepEqual(fresh.changes.map((c) => c.id), ["x"]);
    },
  });

  Deno.test({
    name: "a member device that fell silent no longer holds the team's tombstones back",
    fn: async () => {
      await using t = await openTestApp(kind);
      const store = new SqlStore(t.db.driver);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const phone = await teamDevice(t, "bob", "acme");
      await pushOk(t, admin.token, [teamChange("y", profile("y"))]);
      await pushOk(t, admin.token, [teamChange("y", undefined, { base_version: 1 })]);
      await store.setDeviceCursor("ann", admin.id, 0, { id: "acme", seq: 2 });
      const now = Date.now();
      const run = async (at: number) => (await testRunner(t, () => at).runner.runOnce()).purged;
      assert.equal(await run(now + 31 * DAY_MS), 0, "Bob's phone never acknowledged");
      await t.db.driver.query(
        "update devices set last_seen_at = now() + interval '10 days' where id = $1",
        [admin.id],
      );
      await t.db.driver.query(
        "update devices set last_seen_at = now() - interval '1 day', created_at = now() - interval '1 day' where id = $1",
        [phone.id],
      );
      assert.equal(await run(now + 65 * DAY_MS), 1);
    },
  });
});
