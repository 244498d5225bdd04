/**
 * Every read is scoped by the token's user (DESIGN.md §5). In each case another user holds
 * the same item ids, sync settings that would change the outcome, and open conflicts; the
 * caller's answers must not move. Each case fails when one `user_id = $1` condition of a
 * read path (items, the sync settings item, conflicts, stats) is dropped.
 */
import assert from "node:assert/strict";
import { openTestApp, type TestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { change, command } from "../support/changes.ts";
import { connectWs } from "../support/ws_client.ts";

const PROFILE = { name: "prod", host: "alice.example", port: 22, username: "alice" };
/** A command both users run in a session of the same id: the same dedupe key. */
const SHARED_COMMAND = { command: "ls shared", session_id: "s1", started_at: 1 };
const BOB_PROFILE = { name: "prod", host: "bob.example", port: 22, username: "bob" };

interface Pushed {
  results: { status: string; version?: number; conflict_id?: string; error?: { code: string } }[];
  cursor: string;
}

async function push(t: TestApp, token: string, changes: unknown[]): Promise<Pushed> {
  const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

async function get(t: TestApp, token: string, path: string) {
  const res = await t.request("GET", path, { token });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

/**
 * Bob's account: items under the ids Alice will use, an open manual conflict on `p1`,
 * a filtered command, and sync settings that would hide Alice's data, filter her commands
 * and make her stale edits manual conflicts, were they read for her.
 */
async function bobHoldsTheSameIds(t: TestApp, hostile: Record<string, unknown> = {}) {
  const one = await t.device("bob", "bob-1");
  const two = await t.device("bob", "bob-2");
  const superseded = change("ssh_profiles", "p1", BOB_PROFILE, { modified_at: 1000 });
  const current = change("commands", "cmd-1", SHARED_COMMAND);
  const filtered = command("export AWS_SECRET_ACCESS_KEY=abcd1234abcd1234");
  await push(t, one.token, [
    change("settings", "sync", { conflict_strategies: { ssh_profiles: "manual" } }),
    superseded,
    change("ssh_profiles", "p2", BOB_PROFILE),
    current,
    filtered,
  ]);
  await push(t, one.token, [
    change("ssh_profiles", "p1", { ...BOB_PROFILE, port: 2200 }, { base_version: 1 }),
    change("ssh_profiles", "p2", { ...BOB_PROFILE, port: 2200 }, { base_version: 1 }),
    change("settings", "ui", { theme: "bob" }),
  ]);
  const [stale] = (await push(t, two.token, [
    change("ssh_profiles", "p1", { ...BOB_PROFILE, port: 2201 }, { base_version: 1 }),
  ])).results;
  assert.equal(stale.status, "conflict");
  // Last, as they hide collections from Bob's own pushes too.
  const [settings] = (await push(t, one.token, [
    change("settings", "sync", {
      conflict_strategies: { ssh_profiles: "manual" },
      collections: ["settings"],
      secret_patterns: ["ls shared"],
      ...hostile,
    }, { base_version: 1 }),
  ])).results;
  assert.equal(settings.status, "applied");
  // Change ids are the client's choice, so Alice's may equal Bob's: one stored as sent and
  // since superseded (in item_versions), one current (in items), one recorded as filtered.
  const changeIds = {
    superseded: superseded.change_id,
    current: current.change_id,
    recorded: filtered.change_id,
  };
  return { one, two, conflictId: stale.conflict_id!, changeIds };
}

withDrivers("user scoping", (_open, kind) => {
  Deno.test({
    name: "push decides by the caller's own items and sync settings; pull shows only hers",
    fn: async () => {
      await using t = await openTestApp(kind);
      const phone = await t.device("alice", "phone");
      const laptop = await t.device("alice", "laptop");
      // Alice's p2 at version 2, before Bob's p2 is: a base read that ignored the user
      // would meet Bob's version 1 after hers.
      await push(t, phone.token, [change("ssh_profiles", "p2", PROFILE)]);
      await push(t, phone.token, [
        change("ssh_profiles", "p2", { ...PROFILE, port: 2222 }, {
          base_version: 1,
          modified_at: 2000,
        }),
      ]);
      const { changeIds } = await bobHoldsTheSameIds(t);
      const pushed = await push(t, phone.token, [
        change("ssh_profiles", "p1", PROFILE, { change_id: changeIds.superseded }),
        change("commands", "cmd-2", SHARED_COMMAND, { change_id: changeIds.current }),
        change("settings", "ui", { theme: "alice" }, { change_id: changeIds.recorded }),
      ]);
      // New to Alice: version 1 each; not stale edits of Bob's items, retries of his
      // changes or duplicates of his commands; not refused or filtered by his settings.
      assert.deepEqual(pushed.results.map((r) => [r.status, r.version]), [
        ["applied", 1],
        ["applied", 1],
        ["applied", 1],
      ]);
      // A stale edit of Alice's own p2 merges against her version 1 (field_merge, her
      // default): each side's one-sided change is kept; never a manual conflict.
      const [stale] = (await push(t, laptop.token, [
        change("ssh_profiles", "p2", { ...PROFILE, username: "root" }, {
          base_version: 1,
          modified_at: 1000,
        }),
      ])).results;
      assert.deepEqual([stale.status, stale.version], ["merged", 3]);

      const page = await get(t, laptop.token, "/api/sync/data");
      assert.deepEqual(
        page.changes.map((c: { collection: string; id: string; version: number }) => [
          c.collection,
          c.id,
          c.version,
        ]),
        [
          ["ssh_profiles", "p1", 1],
          ["commands", "cmd-2", 1],
          ["settings", "ui", 1],
          ["ssh_profiles", "p2", 3],
        ],
      );
      assert.deepEqual(page.changes.at(-1).data, { ...PROFILE, port: 2222, username: "root" });
      assert.ok(!JSON.stringify(page).includes("bob"), JSON.stringify(page));
    },
  });

  Deno.test({
    name: "the hello catch-up hint names the caller's changes, by the caller's settings",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const phone = await t.device("alice", "phone");
      const laptop = await t.device("alice", "laptop");
      // Bob's settings even name Alice's laptop in a device policy.
      await bobHoldsTheSameIds(t, {
        device_policies: { [laptop.id]: { collections: ["settings"] } },
      });
      const { cursor } = await push(t, phone.token, [
        change("commands", "cmd-2", SHARED_COMMAND),
      ]);
      await using ws = await connectWs(base, laptop.token);
      ws.send({ type: "hello", cursor: "c1.0" });
      assert.deepEqual(await ws.next(), {
        type: "sync_data_available",
        cursor,
        collections: ["commands"],
        origin_device_id: phone.id,
      });
      ws.send({ type: "ping" });
      assert.deepEqual(await ws.next(), { type: "pong" });
    },
  });

  Deno.test({
    name: "conflicts and stats show the caller's own; another user's conflict id answers 404",
    fn: async () => {
      await using t = await openTestApp(kind);
      const a = await t.device("alice", "a");
      const b = await t.device("alice", "b");
      await push(t, a.token, [
        change("settings", "sync", { conflict_strategies: { ssh_profiles: "manual" } }),
        change("ssh_profiles", "p1", PROFILE),
      ]);
      const bob = await bobHoldsTheSameIds(t);
      assert.deepEqual((await get(t, a.token, "/api/sync/conflicts")).conflicts, []);

      // Alice's p1 is written after Bob's, so a read that ignored the user would meet
      // Bob's row first.
      await push(t, a.token, [
        change("ssh_profiles", "p1", { ...PROFILE, port: 2222 }, { base_version: 1 }),
      ]);
      const [stale] = (await push(t, b.token, [
        change("ssh_profiles", "p1", { ...PROFILE, username: "root" }, { base_version: 1 }),
      ])).results;
      assert.equal(stale.status, "conflict");
      const open = (await get(t, a.token, "/api/sync/conflicts")).conflicts;
      assert.deepEqual(open.map((c: { id: string }) => c.id), [stale.conflict_id]);

      const foreign = await t.request("POST", `/api/sync/conflicts/${bob.conflictId}/resolve`, {
        token: a.token,
        body: { resolution: "local" },
      });
      assert.equal(foreign.status, 404);
      assert.equal((await foreign.json()).error.code, "NOT_FOUND");
      const bobs = (await get(t, bob.one.token, "/api/sync/conflicts")).conflicts;
      assert.deepEqual(bobs.map((c: { id: string }) => c.id), [bob.conflictId]);

      const resolved = await t.request("POST", `/api/sync/conflicts/${stale.conflict_id}/resolve`, {
        token: a.token,
        body: { resolution: "remote" },
      });
      assert.equal(resolved.status, 200, await resolved.clone().text());
      const item = await resolved.json();
      assert.deepEqual([item.id, item.version, item.data], ["p1", 3, { ...PROFILE, port: 2222 }]);

      const stats = await get(t, a.token, "/api/sync/stats");
      assert.deepEqual(stats.collections, {
        settings: { items: 1, deleted: 0 },
        ssh_profiles: { items: 1, deleted: 0 },
      });
      assert.deepEqual(stats.conflicts, {
        open: 0,
        resolved: 1,
        outcomes: [{ strategy: "manual", status: "conflict", count: 1 }],
      });
      assert.equal(stats.filtered_commands, 0);
      assert.equal(stats.cursor, item.cursor);
      assert.deepEqual(
        stats.devices.map((d: { id: string }) => d.id).sort(),
        [a.id, b.id].sort(),
      );
    },
  });
});
