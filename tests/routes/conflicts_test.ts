import assert from "node:assert/strict";
import { openTestApp, type TestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { change } from "../support/changes.ts";

const PROFILE = {
  name: "prod",
  host: "prod.example.com",
  port: 22,
  username: "deploy",
  tags: ["work"],
};

async function push(t: TestApp, token: string, changes: unknown[]) {
  const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
  assert.equal(res.status, 200);
  return (await res.json()).results;
}

/** Two devices of one user that both last saw version 1 of profile p1. */
async function twoDevicesAtVersion1(t: TestApp, strategy?: string) {
  const a = await t.device("alice", "a");
  const b = await t.device("alice", "b");
  if (strategy) {
    await push(t, a.token, [
      change("settings", "sync", { conflict_strategies: { ssh_profiles: strategy } }),
    ]);
  }
  await push(t, a.token, [change("ssh_profiles", "p1", PROFILE, { modified_at: 1000 })]);
  return { a, b };
}

async function item(t: TestApp, token: string, collection: string, id: string) {
  const page = await (await t.request("GET", `/api/sync/data?collections=${collection}`, { token }))
    .json();
  return page.changes.find((c: { id: string }) => c.id === id);
}

withDrivers("conflicts", (_open, kind) => {
  Deno.test({
    name: "field_merge (the ssh_profiles default) keeps one-sided edits from both devices",
    fn: async () => {
      await using t = await openTestApp(kind);
      const { a, b } = await twoDevicesAtVersion1(t);
      await push(t, a.token, [
        change("ssh_profiles", "p1", { ...PROFILE, port: 2222 }, {
          base_version: 1,
          modified_at: 2000,
        }),
      ]);
      const [res] = await push(t, b.token, [
        change("ssh_profiles", "p1", { ...PROFILE, username: "root", tags: ["work", "prod"] }, {
          base_version: 1,
          modified_at: 3000,
        }),
      ]);
      assert.deepEqual([res.status, res.version], ["merged", 3]);
      const merged = await item(t, a.token, "ssh_profiles", "p1");
      assert.deepEqual([merged.data.port, merged.data.username, merged.data.tags], [2222, "root", [
        "work",
        "prod",
      ]]);
    },
  });

  const winners: [string, number, number, string, string][] = [
    // strategy, a's modified_at, b's modified_at, b's status, stored host
    ["timestamp", 5000, 3000, "kept_remote", "a.example.com"],
    ["timestamp", 3000, 5000, "applied", "b.example.com"],
    ["local_priority", 5000, 3000, "applied", "b.example.com"],
    ["remote_priority", 3000, 5000, "kept_remote", "a.example.com"],
  ];
  for (const [strategy, aTime, bTime, status, host] of winners) {
    Deno.test({
      name:
        `${strategy} chosen in settings: a stale edit at ${bTime} against ${aTime} is ${status}`,
      fn: async () => {
        await using t = await openTestApp(kind);
        const { a, b } = await twoDevicesAtVersion1(t, strategy);
        await push(t, a.token, [
          change("ssh_profiles", "p1", { ...PROFILE, host: "a.example.com" }, {
            base_version: 1,
            modified_at: aTime,
          }),
        ]);
        const [res] = await push(t, b.token, [
          change("ssh_profiles", "p1", { ...PROFILE, host: "b.example.com" }, {
            base_version: 1,
            modified_at: bTime,
          }),
        ]);
        assert.equal(res.status, status);
        assert.equal((await item(t, b.token, "ssh_profiles", "p1")).data.host, host);
      },
    });
  }

  Deno.test({
    name: "additive unions the tags both devices added",
    fn: async () => {
      await using t = await openTestApp(kind);
      const { a, b } = await twoDevicesAtVersion1(t, "additive");
      await push(t, a.token, [
        change("ssh_profiles", "p1", { ...PROFILE, tags: ["work", "a"] }, {
          base_version: 1,
          modified_at: 2000,
        }),
      ]);
      const [res] = await push(t, b.token, [
        change("ssh_profiles", "p1", { ...PROFILE, tags: ["work", "b"] }, {
          base_version: 1,
          modified_at: 3000,
        }),
      ]);
      assert.equal(res.status, "merged");
      assert.deepEqual((await item(t, a.token, "ssh_profiles", "p1")).data.tags.sort(), [
        "a",
        "b",
        "work",
      ]);
    },
  });

  Deno.test({
    name:
      "manual stores a conflict with both versions; resolve writes a new version once, then 409",
    fn: async () => {
      await using t = await openTestApp(kind);
      const { a, b } = await twoDevicesAtVersion1(t, "manual");
      await push(t, a.token, [
        change("ssh_profiles", "p1", { ...PROFILE, port: 2200 }, {
          base_version: 1,
          modified_at: 2000,
        }),
      ]);
      const [res] = await push(t, b.token, [
        change("ssh_profiles", "p1", { ...PROFILE, port: 2300 }, {
          base_version: 1,
          modified_at: 3000,
        }),
      ]);
      assert.equal(res.status, "conflict");
      assert.match(res.conflict_id, /^[0-9a-f-]{36}$/);
      assert.equal((await item(t, a.token, "ssh_profiles", "p1")).data.port, 2200);

      const listed =
        await (await t.request("GET", "/api/sync/conflicts?status=open", { token: a.token }))
          .json();
      assert.equal(listed.conflicts.length, 1);
      const [conflict] = listed.conflicts;
      assert.deepEqual(
        [
          conflict.id,
          conflict.item_id,
          conflict.local.data.port,
          conflict.remote.data.port,
          conflict.base.data.port,
        ],
        [res.conflict_id, "p1", 2300, 2200, 22],
      );

      const bob = await t.device("bob");
      const foreign = await t.request("POST", `/api/sync/conflicts/${res.conflict_id}/resolve`, {
        token: bob.token,
        body: { resolution: "local" },
      });
      assert.equal(foreign.status, 404);

      const invalid = await t.request("POST", `/api/sync/conflicts/${res.conflict_id}/resolve`, {
        token: a.token,
        body: { resolution: "merged", data: { ...PROFILE, port: "not a port" } },
      });
      assert.equal(invalid.status, 422);
      assert.equal((await invalid.json()).error.code, "VALIDATION_FAILED");

      const resolved = await t.request("POST", `/api/sync/conflicts/${res.conflict_id}/resolve`, {
        token: a.token,
        body: { resolution: "local", remember: true },
      });
      assert.equal(resolved.status, 200);
      const body = await resolved.json();
      assert.deepEqual([body.id, body.version, body.data.port], ["p1", 3, 2300]);
      assert.equal((await item(t, b.token, "ssh_profiles", "p1")).data.port, 2300);

      const again = await t.request("POST", `/api/sync/conflicts/${res.conflict_id}/resolve`, {
        token: a.token,
        body: { resolution: "remote" },
      });
      assert.equal(again.status, 409);
      assert.equal((await again.json()).error.code, "SYNC_CONFLICT_DETECTED");

      const settings = await item(t, a.token, "settings", "sync");
      assert.equal(settings.data.conflict_strategies.ssh_profiles, "local_priority");
      const closed =
        await (await t.request("GET", "/api/sync/conflicts?status=resolved", { token: a.token }))
          .json();
      assert.deepEqual([closed.conflicts[0].resolution, closed.conflicts[0].resolved_version], [
        "local",
        3,
      ]);
      const stats = await (await t.request("GET", "/api/sync/stats", { token: a.token })).json();
      assert.deepEqual([stats.conflicts.open, stats.conflicts.resolved], [0, 1]);
      assert.deepEqual(stats.conflicts.outcomes, [{
        strategy: "manual",
        status: "conflict",
        count: 1,
      }]);
    },
  });

  Deno.test({
    name: "an unknown strategy name in the sync settings is rejected with VALIDATION_FAILED",
    fn: async () => {
      await using t = await openTestApp(kind);
      const a = await t.device("alice");
      const [res] = await push(t, a.token, [
        change("settings", "sync", { conflict_strategies: { ssh_profiles: "coin_flip" } }),
      ]);
      assert.equal(res.status, "rejected");
      assert.equal(res.error.code, "VALIDATION_FAILED");
      assert.ok(res.error.details.fields["data.conflict_strategies.ssh_profiles"]);
    },
  });
});
