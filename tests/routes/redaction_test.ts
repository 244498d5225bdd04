/** Redaction (DESIGN.md §10) over the HTTP API, on the embedded database and on Postgres. */
import assert from "node:assert/strict";
import { openTestApp, type TestApp } from "../support/app.ts";
import { change, command } from "../support/changes.ts";
import { withDrivers } from "../support/drivers.ts";
import { outcome, pullAll, type PulledItem, pushOk } from "../support/sync_api.ts";
import { profile, teamChange, teamDevice } from "../support/teams.ts";
import { rowsHolding } from "../support/trace.ts";
import { connectWs } from "../support/ws_client.ts";

const SECRET = "plum-7731-oxide";

interface Pulled extends PulledItem {
  redacted?: true;
}

async function redact(t: TestApp, token: string, body: unknown): Promise<Response> {
  return await t.request("POST", "/api/sync/redact", { token, body });
}

async function redactOk(t: TestApp, token: string, body: unknown): Promise<number> {
  const res = await redact(t, token, body);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).redacted;
}

async function pullSince(t: TestApp, token: string, since: string) {
  const res = await t.request("GET", `/api/sync/data?limit=1000&since=${since}`, { token });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as { changes: Pulled[]; cursor: string };
}

withDrivers("redaction", (_open, kind) => {
  Deno.test({
    name: "erases the secret from items, history and conflict copies of every table; " +
      "devices pull redacted tombstones; other users keep theirs",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const phone = await t.device("alice", "phone");
      const laptop = await t.device("alice", "laptop");
      const bob = await t.device("bob", "phone");
      await pushOk(t, phone.token, [
        change("settings", "sync", { conflict_strategies: { commands: "manual" } }),
      ]);
      const leaked = command(`echo ${SECRET} > key.txt`);
      const edited = command(`export X=${SECRET}x`);
      const clean = command("ls -la");
      const fought = command("echo safe");
      const note = change("ssh_profiles", "db", profile("db", { notes: `pw ${SECRET}` }));
      await pushOk(t, phone.token, [leaked, edited, clean, fought, note]);
      // The secret survives only in history, and only in a conflict copy.
      await pushOk(t, phone.token, [
        command("echo edited", { id: edited.id, base_version: 1 }),
        command("echo safe 2", { id: fought.id, base_version: 1 }),
      ]);
      const conflict = await pushOk(t, laptop.token, [
        command(`echo ${SECRET} 2`, { id: fought.id, base_version: 1 }),
      ]);
      assert.deepEqual(conflict.results.map(outcome), ["conflict"]);
      await pushOk(t, bob.token, [command(`echo ${SECRET}`)]);
      const { cursor: laptopCursor } = await pullSince(t, laptop.token, "c1.0");
      await using ws = await connectWs(base, laptop.token);
      ws.send({ type: "hello", cursor: laptopCursor });

      assert.equal(await redactOk(t, phone.token, { literal: SECRET }), 3);
      if (kind === "pglite") {
        // In-process notice; on Postgres the WAL listener sends it (tests/e2e/redaction_test.ts).
        const hint = await ws.next();
        assert.equal(hint.type, "sync_data_available");
        assert.deepEqual((hint as { collections: string[] }).collections, ["commands"]);
      }
      const pulled = await pullSince(t, laptop.token, laptopCursor);
      assert.deepEqual(
        pulled.changes.map((c) => [c.id, c.deleted, c.redacted, c.data]).sort(),
        [leaked.id, edited.id, fought.id].sort().map((id) => [id, true, true, null]),
      );
      // The profile is not a command: the default leaves it alone, until it is named.
      assert.equal(
        await redactOk(t, phone.token, {
          pattern: "plum-[0-9]+-oxide",
          collections: ["ssh_profiles"],
        }),
        1,
      );
      const traces = await rowsHolding(t.db.driver, SECRET);
      assert.ok(traces.length > 0, "bob's command is still stored");
      assert.deepEqual(traces.filter((row) => !row.includes("(bob,")), [], "nothing of alice's");

      const alice = await pullAll(t, phone.token) as Pulled[];
      assert.deepEqual(
        alice.filter((c) => !c.redacted).map((c) => c.id).sort(),
        [clean.id, "sync"].sort(),
      );
      assert.ok(alice.filter((c) => c.redacted).every((c) => c.deleted && c.data === null));
      assert.deepEqual(
        (await pullAll(t, bob.token)).map((c) => c.data?.command),
        [`echo ${SECRET}`],
      );
      const conflicts = await (await t.request("GET", "/api/sync/conflicts", {
        token: phone.token,
      })).json();
      assert.deepEqual(conflicts.conflicts, []);
      // A retry of a redacted change stores nothing again.
      const retry = await pushOk(t, phone.token, [leaked]);
      assert.deepEqual(retry.results.map(outcome), ["duplicate"]);
      assert.deepEqual(
        (await rowsHolding(t.db.driver, SECRET)).filter((r) => !r.includes("(bob,")),
        [],
      );
      // Nothing left to erase: a second redaction finds nothing.
      assert.equal(await redactOk(t, phone.token, { literal: SECRET }), 0);
    },
  });

  Deno.test({
    name: "hostile bodies are 422 VALIDATION_FAILED and change nothing",
    fn: async () => {
      await using t = await openTestApp(kind);
      const phone = await t.device("alice");
      await pushOk(t, phone.token, [command(`echo ${SECRET}`), command("aaaa")]);
      const cases: [unknown, string][] = [
        [{ pattern: "(a" }, "pattern"],
        [{ pattern: "(a+)\\1" }, "pattern"],
        [{ pattern: String.raw`[\s\S]{1000}` }, "pattern"],
        [{ pattern: "a".repeat(1001) }, "pattern"],
        [{ literal: "x".repeat(65_537) }, "literal"],
        [{ pattern: "a", literal: "a" }, "pattern"],
        [{}, "pattern"],
        [{ literal: "" }, "literal"],
        [{ literal: "a", collections: ["passwords"] }, "collections.0"],
        [{ literal: "a", collections: [] }, "collections"],
        [{ literal: "a", extra: true }, "body"],
        [[], "body"],
        ["not json", "body"],
      ];
      for (const [body, field] of cases) {
        const res = await redact(t, phone.token, body);
        assert.equal(res.status, 422, JSON.stringify(body).slice(0, 80));
        const error = (await res.json()).error;
        assert.equal(error.code, "VALIDATION_FAILED");
        if (field !== "body") assert.ok(field in error.details.fields, JSON.stringify(error));
      }
      // Linear time: a pattern that backtracks exponentially elsewhere answers at once.
      assert.equal(await redactOk(t, phone.token, { pattern: "(a+)+$" }), 1);
      const left = await pullAll(t, phone.token) as Pulled[];
      assert.deepEqual(left.filter((c) => !c.deleted).map((c) => c.data?.command), [
        `echo ${SECRET}`,
      ]);
    },
  });

  Deno.test({
    name: "team items: members are FORBIDDEN; an admin's redaction reaches every member",
    fn: async () => {
      await using t = await openTestApp(kind);
      const ann = await teamDevice(t, "ann", "acme", "admin");
      const bob = await teamDevice(t, "bob", "acme");
      const solo = await t.device("dee", "phone", "pro");
      await pushOk(t, ann.token, [
        teamChange("db", profile("db", { notes: SECRET })),
        teamChange("web", profile("web")),
      ]);
      await pushOk(t, bob.token, [command(`echo ${SECRET}`)]);
      const body = { literal: SECRET, collections: ["commands", "team_ssh_profiles"] };
      for (const token of [bob.token, solo.token]) {
        const res = await redact(t, token, body);
        assert.equal(res.status, 403);
        assert.equal((await res.json()).error.code, "FORBIDDEN");
      }
      assert.equal((await rowsHolding(t.db.driver, SECRET)).length, 2, "nothing erased");
      assert.equal(await redactOk(t, ann.token, body), 1);
      const seen = await pullAll(t, bob.token) as Pulled[];
      const db = seen.find((c) => c.id === "db")!;
      assert.deepEqual([db.deleted, db.redacted, db.data], [true, true, null]);
      // Ann's own commands hold no secret; bob's are his to redact.
      assert.deepEqual((await rowsHolding(t.db.driver, SECRET)).map((r) => r.includes("(bob,")), [
        true,
      ]);
      assert.equal(await redactOk(t, bob.token, { literal: SECRET }), 1);
      assert.deepEqual(await rowsHolding(t.db.driver, SECRET), []);
    },
  });

  Deno.test({
    name: "adding a secret pattern redacts the commands already stored that it matches",
    fn: async () => {
      await using t = await openTestApp(kind);
      const phone = await t.device("alice", "phone");
      const stored = command(`deploy --key ${SECRET}`);
      await pushOk(t, phone.token, [stored, command("ls")]);
      const settings = change("settings", "sync", { secret_patterns: ["plum-[0-9]{4}-oxide"] });
      assert.deepEqual((await pushOk(t, phone.token, [settings])).results.map(outcome), [
        "applied",
      ]);
      assert.deepEqual(await rowsHolding(t.db.driver, SECRET), []);
      const item = (await pullAll(t, phone.token) as Pulled[]).find((c) => c.id === stored.id)!;
      assert.deepEqual([item.deleted, item.redacted], [true, true]);
      // And the filter keeps it out from now on.
      assert.deepEqual(
        (await pushOk(t, phone.token, [command(`deploy --key ${SECRET}`)])).results.map(outcome),
        ["filtered"],
      );
    },
  });

  Deno.test({
    name: "a conflict of the sync settings resolved with a new secret pattern redacts as well",
    fn: async () => {
      await using t = await openTestApp(kind);
      const phone = await t.device("alice", "phone");
      const laptop = await t.device("alice", "laptop");
      const manual = { conflict_strategies: { settings: "manual" } };
      await pushOk(t, phone.token, [change("settings", "sync", manual), command(`echo ${SECRET}`)]);
      const stale = await pushOk(t, laptop.token, [
        change("settings", "sync", { ...manual, secret_patterns: ["plum-[0-9]{4}-oxide"] }),
      ]);
      assert.deepEqual(stale.results.map(outcome), ["conflict"]);
      assert.equal((await rowsHolding(t.db.driver, SECRET)).length, 1);
      const res = await t.request(
        "POST",
        `/api/sync/conflicts/${stale.results[0].conflict_id}/resolve`,
        { token: phone.token, body: { resolution: "local" } },
      );
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await rowsHolding(t.db.driver, SECRET), []);
    },
  });
});
