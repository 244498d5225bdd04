/** Delete receipts and `behind` (DESIGN.md §10), on the embedded database and on Postgres. */
import assert from "node:assert/strict";
import { encodePosition } from "../../sync/cursor.ts";
import { openTestApp, type TestApp } from "../support/app.ts";
import { change, command } from "../support/changes.ts";
import { withDrivers } from "../support/drivers.ts";
import { eventually } from "../support/eventually.ts";
import { pushOk } from "../support/sync_api.ts";
import { profile, teamChange, teamDevice } from "../support/teams.ts";
import { connectWs } from "../support/ws_client.ts";

interface Receipts {
  item: { collection: string; id: string; version: number; deleted: boolean; cursor: string };
  devices: {
    id: string;
    name: string;
    applied: boolean;
    cursor: string;
    last_seen_at: number | null;
  }[];
}

async function receipts(t: TestApp, token: string, collection: string, id: string) {
  const res = await t.request("GET", `/api/sync/items/${collection}/${id}/receipts`, { token });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as Receipts;
}

/** Each device's `applied`, by device name. */
async function appliedByName(t: TestApp, token: string, collection: string, id: string) {
  const { devices } = await receipts(t, token, collection, id);
  return Object.fromEntries(devices.map((d) => [d.name, d.applied]));
}

async function behindByName(t: TestApp, token: string): Promise<Record<string, number>> {
  const res = await t.request("GET", "/api/devices", { token });
  assert.equal(res.status, 200);
  const { devices } = await res.json() as { devices: { name: string; behind: number }[] };
  return Object.fromEntries(devices.map((d) => [d.name, d.behind]));
}

async function pullCursor(t: TestApp, token: string): Promise<string> {
  const res = await t.request("GET", "/api/sync/data?limit=1000", { token });
  assert.equal(res.status, 200);
  return (await res.json()).cursor;
}

/** Acknowledges `cursor` over the device's socket and waits until `stored` sees it. */
async function ack(base: string, token: string, cursor: string, stored: () => Promise<boolean>) {
  await using ws = await connectWs(base, token);
  ws.send({ type: "ack", cursor });
  await eventually(stored, 5_000, "the acknowledged cursor to be stored");
}

withDrivers("receipts", (_open, kind) => {
  Deno.test({
    name: "a delete shows applied: false for the other device until it pulls and acks",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const phone = await t.device("alice", "phone");
      const laptop = await t.device("alice", "laptop");
      const put = command("ls -la");
      await pushOk(t, phone.token, [put]);
      const deleted = await pushOk(t, phone.token, [
        change("commands", put.id, undefined, { base_version: 1 }),
      ]);
      assert.equal(deleted.cursor, "c1.2");

      const before = await receipts(t, phone.token, "commands", put.id);
      assert.deepEqual(before.item, {
        collection: "commands",
        id: put.id,
        version: 2,
        deleted: true,
        cursor: "c1.2",
      });
      assert.deepEqual(
        before.devices.map((d) => [d.id, d.name, d.applied, d.cursor]),
        [[phone.id, "phone", true, "c1.0"], [laptop.id, "laptop", false, "c1.0"]],
        "the writer holds its own delete; the laptop has acknowledged nothing",
      );
      assert.ok(before.devices.every((d) => typeof d.last_seen_at === "number"));
      assert.deepEqual(await behindByName(t, laptop.token), { phone: 2, laptop: 2 });

      const cursor = await pullCursor(t, laptop.token);
      assert.equal(cursor, "c1.2");
      // Pulling alone is not applying: only an acknowledged cursor counts.
      assert.deepEqual(await appliedByName(t, phone.token, "commands", put.id), {
        phone: true,
        laptop: false,
      });
      await ack(
        base,
        laptop.token,
        cursor,
        async () => (await appliedByName(t, phone.token, "commands", put.id)).laptop === true,
      );
      const after = await receipts(t, laptop.token, "commands", put.id);
      assert.deepEqual(after.devices.map((d) => [d.name, d.applied, d.cursor]), [
        ["phone", true, "c1.0"],
        ["laptop", true, "c1.2"],
      ]);
      assert.deepEqual(await behindByName(t, phone.token), { phone: 2, laptop: 0 });

      // A newer version is not applied by a cursor that predates it.
      await pushOk(t, phone.token, [command("pwd")]);
      assert.deepEqual(await behindByName(t, phone.token), { phone: 3, laptop: 1 });
      assert.equal((await receipts(t, laptop.token, "commands", put.id)).devices[1].applied, true);
    },
  });

  Deno.test({
    name: "another user's item, an unknown item or collection answer 404 in the contract's shape",
    fn: async () => {
      await using t = await openTestApp(kind);
      const alice = await t.device("alice");
      const mallory = await t.device("mallory");
      const put = command("echo hi");
      await pushOk(t, alice.token, [put]);
      for (
        const [token, path] of [
          [mallory.token, `commands/${put.id}`],
          [alice.token, `commands/${crypto.randomUUID()}`],
          [alice.token, `nonsense/${put.id}`],
          [alice.token, `team_ssh_profiles/${put.id}`],
        ]
      ) {
        const res = await t.request("GET", `/api/sync/items/${path}/receipts`, { token });
        assert.equal(res.status, 404, path);
        const body = await res.json();
        assert.equal(body.error.code, "NOT_FOUND");
        assert.deepEqual(body.error.details, {});
      }
      const res = await t.request("GET", `/api/sync/items/commands/${put.id}/receipts`);
      assert.equal(res.status, 401);
    },
  });

  Deno.test({
    name: "a team item lists every member's seen device; a member applies it by its team part",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const ann = await teamDevice(t, "ann", "acme", "admin", { name: "ann-laptop" });
      const bob = await teamDevice(t, "bob", "acme", "member", { name: "bob-phone" });
      const outsider = await teamDevice(t, "cid", "globex", "admin", { name: "cid-phone" });
      await pushOk(t, bob.token, [command("ls")]);
      await pushOk(t, ann.token, [teamChange("db", profile("db"))]);
      const teamCursor = encodePosition({ user: 0, team: 1 }, "acme");

      const seen = await receipts(t, bob.token, "team_ssh_profiles", "db");
      assert.deepEqual(seen.item, {
        collection: "team_ssh_profiles",
        id: "db",
        version: 1,
        deleted: false,
        cursor: teamCursor,
      });
      assert.deepEqual(seen.devices.map((d) => [d.name, d.applied]), [
        ["ann-laptop", true],
        ["bob-phone", false],
      ]);
      assert.deepEqual(await behindByName(t, bob.token), { "bob-phone": 2 });

      // Bob's user part alone (his command) does not apply a team item.
      await ack(
        base,
        bob.token,
        encodePosition({ user: 1, team: 0 }, "acme"),
        async () => (await behindByName(t, bob.token))["bob-phone"] === 1,
      );
      assert.equal(
        (await appliedByName(t, ann.token, "team_ssh_profiles", "db"))["bob-phone"],
        false,
      );
      await ack(
        base,
        bob.token,
        encodePosition({ user: 1, team: 1 }, "acme"),
        async () => (await appliedByName(t, ann.token, "team_ssh_profiles", "db"))["bob-phone"],
      );
      assert.deepEqual(await behindByName(t, bob.token), { "bob-phone": 0 });

      const res = await t.request("GET", "/api/sync/items/team_ssh_profiles/db/receipts", {
        token: outsider.token,
      });
      assert.equal(res.status, 404, "another team's item");
    },
  });
});
