/** Team sync over the HTTP API (DESIGN.md §11), on the embedded database and on Postgres. */
import assert from "node:assert/strict";
import { encodePosition } from "../../sync/cursor.ts";
import { openTestApp, type TestApp } from "../support/app.ts";
import { change, command, PRIVATE_KEY_BLOCK } from "../support/changes.ts";
import { withDrivers } from "../support/drivers.ts";
import { outcome, type PulledItem, pushOk } from "../support/sync_api.ts";
import { changeAccount, profile, teamChange, teamDevice } from "../support/teams.ts";

interface TeamPulled extends PulledItem {
  author?: string;
}

async function pull(t: TestApp, token: string, since?: string): Promise<Response> {
  return await t.request("GET", `/api/sync/data?limit=1000${since ? `&since=${since}` : ""}`, {
    token,
  });
}

async function pullOk(t: TestApp, token: string, since?: string) {
  const res = await pull(t, token, since);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as { changes: TeamPulled[]; cursor: string; has_more: boolean };
}

const keys = (items: { collection: string; id: string }[]) =>
  items.map((c) => `${c.collection}/${c.id}`).sort();

withDrivers("team sync", (_open, kind) => {
  Deno.test({
    name: "an admin's team profile reaches every member's pull with its author; no one else's",
    fn: async () => {
      await using t = await openTestApp(kind);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const member = await teamDevice(t, "bob", "acme");
      const outsider = await teamDevice(t, "cid", "globex");
      const solo = await teamDevice(t, "dee", null, "member", { tier: "pro" });
      const pushed = await pushOk(t, admin.token, [
        teamChange("db", profile("db")),
        change("ssh_profiles", "own", profile("own")),
      ]);
      assert.deepEqual(pushed.results.map(outcome), ["applied", "applied"]);
      // The answer counts both streams; one change of each is the first of each.
      assert.equal(pushed.cursor, encodePosition({ user: 1, team: 1 }, "acme"));

      const bob = await pullOk(t, member.token);
      assert.deepEqual(keys(bob.changes), ["team_ssh_profiles/db"]);
      assert.equal(bob.changes[0].author, "ann");
      assert.deepEqual(bob.changes[0].data, { ...profile("db"), port: 22 });
      assert.equal(bob.cursor, encodePosition({ user: 0, team: 1 }, "acme"));
      assert.equal(bob.changes[0].cursor, bob.cursor);

      const ann = await pullOk(t, admin.token);
      assert.deepEqual(keys(ann.changes), ["ssh_profiles/own", "team_ssh_profiles/db"]);
      // A user's own items carry no author.
      assert.equal(ann.changes.find((c) => c.collection === "ssh_profiles")!.author, undefined);
      assert.equal(ann.cursor, pushed.cursor);

      for (const other of [outsider, solo]) {
        assert.deepEqual((await pullOk(t, other.token)).changes, []);
      }
      assert.match((await pullOk(t, solo.token)).cursor, /^c1\./);
    },
  });

  Deno.test({
    name: "a member's write to the team is rejected FORBIDDEN; the rest of its batch is stored",
    fn: async () => {
      await using t = await openTestApp(kind);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const member = await teamDevice(t, "bob", "acme");
      await pushOk(t, admin.token, [teamChange("db", profile("db"))]);
      const batch = [
        teamChange("db", profile("db", { port: 2222 }), { base_version: 1 }),
        command("ls"),
        teamChange("new", profile("new")),
      ];
      const answer = await pushOk(t, member.token, batch);
      assert.deepEqual(answer.results.map(outcome), ["FORBIDDEN", "applied", "FORBIDDEN"]);
      assert.deepEqual(answer.results.map((r) => r.change_id), batch.map((c) => c.change_id));
      assert.equal(answer.results[0].error!.message, "Only team admins write team items");
      const team = (await pullOk(t, admin.token)).changes;
      assert.deepEqual(team.map((c) => [c.id, c.version, c.data?.port]), [["db", 1, 22]]);
    },
  });

  Deno.test({
    name: "a tier without team sync is refused with details.upgrade; no team, with FORBIDDEN",
    fn: async () => {
      await using t = await openTestApp(kind);
      const pro = await teamDevice(t, "pat", "acme", "admin", { tier: "pro" });
      const [refused] = (await pushOk(t, pro.token, [teamChange("db", profile("db"))])).results;
      assert.deepEqual(refused.error, {
        code: "FORBIDDEN",
        message: "Team sync is not part of the pro tier",
        details: { upgrade: { tier: "team", reason: "team_sync" } },
      });
      const teamless = await teamDevice(t, "tia", null, "admin");
      const [alone] = (await pushOk(t, teamless.token, [teamChange("db", profile("db"))])).results;
      assert.deepEqual(alone.error, {
        code: "FORBIDDEN",
        message: "The account belongs to no team",
      });
      const [{ n }] = await t.db.driver.query<{ n: number }>(
        "select count(*)::int as n from items where collection = 'team_ssh_profiles'",
      );
      assert.equal(n, 0);
    },
  });

  Deno.test({
    name: "private key material in a team profile is rejected VALIDATION_FAILED, never stored",
    fn: async () => {
      await using t = await openTestApp(kind);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const answer = await pushOk(t, admin.token, [
        teamChange("leak", profile("leak", { notes: PRIVATE_KEY_BLOCK })),
        teamChange("deep", profile("deep", { options: { [PRIVATE_KEY_BLOCK]: "x" } })),
        teamChange("fine", profile("fine")),
      ]);
      assert.deepEqual(answer.results.map(outcome), [
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "applied",
      ]);
      assert.deepEqual(answer.results[0].error!.details, {
        fields: { data: "contains private key material" },
      });
      const rows = await t.db.driver.query<{ text: string }>(
        "select coalesce(data::text, '') as text from items union all select coalesce(data::text, '') from item_versions",
      );
      assert.ok(rows.every((r) => !r.text.includes("PRIVATE KEY")));
      assert.deepEqual(keys((await pullOk(t, admin.token)).changes), ["team_ssh_profiles/fine"]);
    },
  });

  Deno.test({
    name: "leaving the team answers 410 on the next pull; from scratch, none of its items remain",
    fn: async () => {
      await using t = await openTestApp(kind);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const member = await teamDevice(t, "bob", "acme");
      await pushOk(t, admin.token, [teamChange("db", profile("db"))]);
      await pushOk(t, member.token, [change("settings", "ui", { theme: "dark" })]);
      const before = await pullOk(t, member.token);
      assert.deepEqual(keys(before.changes), ["settings/ui", "team_ssh_profiles/db"]);

      await changeAccount(t, "bob", { teamId: null });
      const expired = await pull(t, member.token, before.cursor);
      assert.equal(expired.status, 410);
      assert.equal((await expired.json()).error.code, "SYNC_CURSOR_EXPIRED");
      // Every cursor the device held of the team expired, not only the last.
      assert.equal((await pull(t, member.token, before.changes[0].cursor)).status, 410);
      const scratch = await pullOk(t, member.token);
      assert.deepEqual(keys(scratch.changes), ["settings/ui"]);
      assert.match(scratch.cursor, /^c1\./);

      // Joining another team: 410 again, and a pull from scratch brings that team's items.
      const other = await teamDevice(t, "gil", "globex", "admin");
      await pushOk(t, other.token, [teamChange("web", profile("web"))]);
      await changeAccount(t, "bob", { teamId: "globex" });
      const joined = await pullOk(t, member.token, scratch.cursor);
      // A c1 cursor holds nothing of a team: the team's items follow, no resync needed.
      assert.deepEqual(keys(joined.changes), ["team_ssh_profiles/web"]);
      assert.equal(joined.changes[0].author, "gil");
      await changeAccount(t, "bob", { teamId: "acme" });
      assert.equal((await pull(t, member.token, joined.cursor)).status, 410);
      // A tier without team sync: the team's items go too.
      const back = await pullOk(t, member.token);
      assert.deepEqual(keys(back.changes), ["settings/ui", "team_ssh_profiles/db"]);
      await changeAccount(t, "bob", { tier: "pro", teamId: "acme" });
      assert.equal((await pull(t, member.token, back.cursor)).status, 410);
      assert.deepEqual(keys((await pullOk(t, member.token)).changes), ["settings/ui"]);
    },
  });

  Deno.test({
    name: "pages interleave the user's and the team's changes; every cursor resumes without loss",
    fn: async () => {
      await using t = await openTestApp(kind);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const member = await teamDevice(t, "bob", "acme");
      await pushOk(
        t,
        admin.token,
        [1, 2, 3, 4, 5].map((n) => teamChange(`p${n}`, profile(`p${n}`))),
      );
      await pushOk(t, member.token, [1, 2, 3].map((n) => command(`echo ${n}`)));
      const pages: string[][] = [];
      let cursor = "";
      for (let round = 0; round < 10; round++) {
        const res = await t.request(
          "GET",
          `/api/sync/data?limit=3${cursor ? `&since=${cursor}` : ""}`,
          { token: member.token },
        );
        const page = await res.json();
        pages.push(page.changes.map((c: PulledItem) => c.collection.slice(0, 4)));
        // Resuming from a page's first change's cursor repeats the rest, skips nothing.
        const again = (await pullOk(t, member.token, page.changes[0].cursor)).changes;
        for (const { id } of page.changes.slice(1)) {
          assert.ok(again.some((c) => c.id === id), id);
        }
        cursor = page.cursor;
        if (!page.has_more) break;
      }
      // In turn, user first: neither stream waits for the other to run out.
      assert.deepEqual(pages, [["comm", "team", "comm"], ["comm", "team", "team"], [
        "team",
        "team",
      ]]);
      assert.equal(cursor, encodePosition({ user: 3, team: 5 }, "acme"));
    },
  });

  Deno.test({
    name: "a since past a stream's head is 422; a malformed one too",
    fn: async () => {
      await using t = await openTestApp(kind);
      const member = await teamDevice(t, "bob", "acme");
      for (const since of [encodePosition({ user: 0, team: 9 }, "acme"), "c2.0.0.nothex"]) {
        const res = await pull(t, member.token, since);
        assert.equal(res.status, 422, since);
        assert.equal((await res.json()).error.code, "VALIDATION_FAILED");
      }
    },
  });

  Deno.test({
    name: "team items settle with field_merge whoever writes; a user strategy for them is refused",
    fn: async () => {
      await using t = await openTestApp(kind);
      const ann = await teamDevice(t, "ann", "acme", "admin");
      const cat = await teamDevice(t, "cat", "acme", "admin");
      const [refused] = (await pushOk(t, cat.token, [
        change("settings", "sync", { conflict_strategies: { team_ssh_profiles: "manual" } }),
      ])).results;
      assert.equal(refused.error?.code, "VALIDATION_FAILED");
      await pushOk(t, ann.token, [teamChange("db", profile("db"))]);
      await pushOk(t, ann.token, [
        teamChange("db", profile("db", { port: 2222 }), { base_version: 1 }),
      ]);
      // Cat edits version 1 too: another field, merged with Ann's.
      const [merged] = (await pushOk(t, cat.token, [
        teamChange("db", profile("db", { notes: "primary" }), { base_version: 1 }),
      ])).results;
      assert.deepEqual([merged.status, merged.version], ["merged", 3]);
      const [item] = (await pullOk(t, ann.token)).changes;
      assert.deepEqual([item.data?.port, item.data?.notes, item.author], [2222, "primary", "cat"]);
      // History keeps every version, with its writer.
      const history = await t.db.driver.query<{ version: number; author: string }>(
        "select version, author from item_versions where collection = 'team_ssh_profiles' order by version",
      );
      assert.deepEqual(history.map((h) => [h.version, h.author]), [[1, "ann"], [2, "ann"]]);
    },
  });

  Deno.test({
    name: "a device that does not sync team_ssh_profiles neither receives nor sends them",
    fn: async () => {
      await using t = await openTestApp(kind);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const laptop = await teamDevice(t, "ann", "acme", "admin", { name: "laptop" });
      await pushOk(t, admin.token, [teamChange("db", profile("db"))]);
      await pushOk(t, admin.token, [
        change("settings", "sync", {
          device_policies: { [laptop.id]: { collections: ["settings", "commands"] } },
        }),
      ]);
      assert.deepEqual(keys((await pullOk(t, laptop.token)).changes), ["settings/sync"]);
      const [refused] = (await pushOk(t, laptop.token, [teamChange("x", profile("x"))])).results;
      assert.deepEqual(refused.error, {
        code: "FORBIDDEN",
        message: "Collection team_ssh_profiles is not synced for this device",
      });
      assert.deepEqual(keys((await pullOk(t, admin.token)).changes), [
        "settings/sync",
        "team_ssh_profiles/db",
      ]);
    },
  });

  Deno.test({
    name: "stats count the team's items with the user's and show the cursor of both streams",
    fn: async () => {
      await using t = await openTestApp(kind);
      const admin = await teamDevice(t, "ann", "acme", "admin");
      const member = await teamDevice(t, "bob", "acme");
      await pushOk(t, admin.token, [teamChange("a", profile("a")), teamChange("b", profile("b"))]);
      await pushOk(t, admin.token, [teamChange("b", undefined, { base_version: 1 })]);
      await pushOk(t, member.token, [command("ls")]);
      const res = await t.request("GET", "/api/sync/stats", { token: member.token });
      const stats = await res.json();
      assert.deepEqual(stats.collections, {
        commands: { items: 1, deleted: 0 },
        team_ssh_profiles: { items: 1, deleted: 1 },
      });
      assert.equal(stats.cursor, (await pullOk(t, member.token)).cursor);
      assert.equal(stats.cursor, encodePosition({ user: 1, team: 3 }, "acme"));
      const devices = await (await t.request("GET", "/api/devices", { token: member.token }))
        .json();
      assert.deepEqual(devices.devices.map((d: { cursor: string }) => d.cursor), [
        encodePosition({ user: 0, team: 0 }, "acme"),
      ]);
    },
  });

  Deno.test({
    name: "no account can be a team: a token whose sub is a team's owner key is refused",
    fn: async () => {
      await using t = await openTestApp(kind);
      const res = await t.request("GET", "/api/devices", {
        token: await t.accountToken("team:acme", "team"),
      });
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(body.error.code, "UNAUTHORIZED");
      assert.match(body.error.message, /claims are malformed: sub/);
    },
  });
});
