import assert from "node:assert/strict";
import { openTestApp, type TestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { change } from "../support/changes.ts";
import { pushOk } from "../support/sync_api.ts";

const PROFILE = { name: "prod", host: "prod.example.com", port: 22, username: "deploy" };

/** Profile p1 at version 2 (port 2200) with an open manual conflict against port 2300. */
async function openConflict(t: TestApp) {
  const a = await t.device("alice", "a");
  const b = await t.device("alice", "b");
  await pushOk(t, a.token, [
    change("settings", "sync", { conflict_strategies: { ssh_profiles: "manual" } }),
    change("ssh_profiles", "p1", PROFILE, { modified_at: 1000 }),
  ]);
  await pushOk(t, a.token, [
    change("ssh_profiles", "p1", { ...PROFILE, port: 2200 }, { base_version: 1 }),
  ]);
  const { results: [conflicted] } = await pushOk(t, b.token, [
    change("ssh_profiles", "p1", { ...PROFILE, port: 2300 }, { base_version: 1 }),
  ]);
  assert.equal(conflicted.status, "conflict");
  return { a, b, conflictId: conflicted.conflict_id! };
}

function resolve(t: TestApp, token: string, conflictId: string, body: unknown) {
  return t.request("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token, body });
}

async function versionsOfP1(t: TestApp): Promise<number[]> {
  const rows = await t.db.driver.query<{ version: number }>(
    `select version from items where collection = 'ssh_profiles' and id = 'p1'
     union all select version from item_versions where collection = 'ssh_profiles' and id = 'p1'
     order by version`,
  );
  return rows.map((r) => r.version);
}

withDrivers("conflicts", (_open, kind) => {
  Deno.test({
    name: "two devices resolving one conflict at once: one 200, one 409, one new version",
    fn: async () => {
      await using t = await openTestApp(kind);
      const { a, b, conflictId } = await openConflict(t);
      const answers = await Promise.all([
        resolve(t, a.token, conflictId, { resolution: "local" }),
        resolve(t, b.token, conflictId, { resolution: "remote", remember: true }),
      ]);
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 409]);
      const winner = answers.findIndex((r) => r.status === 200);
      const body = await answers[winner].json();
      assert.equal(body.version, 3);
      assert.equal((await answers[1 - winner].json()).error.code, "SYNC_CONFLICT_DETECTED");
      assert.deepEqual(await versionsOfP1(t), [1, 2, 3]);
      const [closed] = await t.db.driver.query<
        { status: string; resolution: string; resolved_version: number }
      >("select status, resolution, resolved_version from conflicts where id = $1", [conflictId]);
      assert.deepEqual(closed, {
        status: "resolved",
        resolution: winner === 0 ? "local" : "remote",
        resolved_version: 3,
      });
      // Only the winner's `remember` may have changed the strategy.
      const [settings] = await t.db.driver.query<{ data: { conflict_strategies: unknown } }>(
        "select data from items where collection = 'settings' and id = 'sync'",
      );
      assert.deepEqual(settings.data.conflict_strategies, {
        ssh_profiles: winner === 0 ? "manual" : "remote_priority",
      });
    },
  });

  Deno.test({
    name: "a resolve that fails validation claims nothing: a concurrent valid resolve wins",
    fn: async () => {
      await using t = await openTestApp(kind);
      const { a, b, conflictId } = await openConflict(t);
      const [invalid, valid] = await Promise.all([
        resolve(t, a.token, conflictId, {
          resolution: "merged",
          data: { ...PROFILE, port: "not a port" },
        }),
        resolve(t, b.token, conflictId, { resolution: "local" }),
      ]);
      assert.equal(invalid.status, 422);
      assert.equal(valid.status, 200, await valid.clone().text());
      assert.deepEqual([(await valid.json()).data.port], [2300]);
      assert.deepEqual(await versionsOfP1(t), [1, 2, 3]);
    },
  });

  Deno.test({
    name:
      "a fault while closing the conflict (test-only trigger) writes nothing: the retry writes one version",
    fn: async () => {
      await using t = await openTestApp(kind);
      const { a, conflictId } = await openConflict(t);
      await t.db.driver.query(
        `create function test_fault() returns trigger language plpgsql as
           $$ begin raise exception 'injected fault' using errcode = 'XX000'; end $$`,
      );
      await t.db.driver.query(
        `create trigger test_fault before update on conflicts for each row
           when (new.resolved_version is not null) execute function test_fault()`,
      );
      const failed = await resolve(t, a.token, conflictId, { resolution: "local" });
      assert.equal(failed.status, 500);
      assert.deepEqual(await versionsOfP1(t), [1, 2]);
      await t.db.driver.query("drop trigger test_fault on conflicts");
      const retried = await resolve(t, a.token, conflictId, { resolution: "local" });
      assert.equal(retried.status, 200);
      assert.deepEqual(await versionsOfP1(t), [1, 2, 3]);
    },
  });
});
