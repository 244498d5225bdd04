import assert from "node:assert/strict";
import { SqlStore } from "../../../db/sql_store.ts";
import { decodeCursor, encodeCursor } from "../../../sync/cursor.ts";
import { openTestApp } from "../../support/app.ts";
import { change } from "../../support/changes.ts";
import { withDrivers } from "../../support/drivers.ts";
import { DAY_MS, pullAll, type Pulled, testRunner } from "./support.ts";

withDrivers("tombstone compaction job", (_open, kind) => {
  Deno.test({
    name:
      "purges old tombstones every active device applied; older cursors get 410; scratch is right",
    fn: async () => {
      await using t = await openTestApp(kind);
      const store = new SqlStore(t.db.driver);
      const a = await t.device("compact", "a", "pro");
      const b = await t.device("compact", "b", "pro");
      const send = async (changes: unknown[]) =>
        await (await t.request("POST", "/api/sync/data", { token: a.token, body: { changes } }))
          .json();
      const created = ["x", "y", "z"].map((id) => change("settings", id, { v: id }));
      await send(created);
      const deleteY = change("settings", "y", undefined, { base_version: 1 });
      const deleteZ = change("settings", "z", undefined, { base_version: 1 });
      const y = await send([deleteY]);
      const z = await send([deleteZ]);
      const [ySeq, zSeq] = [decodeCursor(y.cursor), decodeCursor(z.cursor)];
      await store.setDeviceCursor("compact", a.id, zSeq);
      await store.setDeviceCursor("compact", b.id, ySeq);
      const now = Date.now();

      // Too young: nothing happens.
      assert.equal((await testRunner(t, () => now + DAY_MS).runner.runOnce()).purged, 0);

      // Old enough; b has applied y's tombstone only.
      const { runner } = testRunner(t, () => now + 31 * DAY_MS);
      assert.equal((await runner.runOnce()).purged, 1);
      const expired = await pullAll(t, b.token, encodeCursor(ySeq - 1)) as Response;
      assert.equal(expired.status, 410);
      assert.equal((await expired.json()).error.code, "SYNC_CURSOR_EXPIRED");
      const fromY = await pullAll(t, b.token, y.cursor) as Pulled;
      assert.deepEqual(fromY.changes.map((c) => [c.id, c.deleted]), [["z", true]]);
      const scratch = await pullAll(t, b.token) as Pulled;
      assert.deepEqual(scratch.changes.map((c) => [c.id, c.deleted]), [["x", false], ["z", true]]);

      // A retried delete of the purged item changes nothing.
      const retry = await send([deleteY]);
      assert.deepEqual(retry.results, [{
        change_id: deleteY.change_id,
        status: "duplicate",
        version: 2,
      }]);
      assert.equal(retry.cursor, z.cursor);

      // b falls silent for over 60 days: it no longer holds z's tombstone back.
      await t.db.driver.query(
        "update devices set last_seen_at = now() + interval '10 days' where id = $1",
        [a.id],
      );
      assert.equal((await testRunner(t, () => now + 65 * DAY_MS).runner.runOnce()).purged, 1);
      assert.equal((await pullAll(t, b.token, y.cursor) as Response).status, 410);
      const rescue = await pullAll(t, b.token) as Pulled;
      assert.deepEqual(rescue.changes.map((c) => [c.id, c.deleted]), [["x", false]]);
      const [{ purged_seq }] = await t.db.driver.query<{ purged_seq: number }>(
        "select purged_seq from users where user_id = 'compact'",
      );
      assert.equal(purged_seq, zSeq);
    },
  });
});
