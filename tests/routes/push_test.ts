import assert from "node:assert/strict";
import { openTestApp, type TestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { change, command, PRIVATE_KEY_BLOCK, SSH_KEY } from "../support/changes.ts";
import { canonicalJson } from "../../conflict/canonical.ts";
import { sha256Hex } from "../../sync/hashing.ts";

async function push(t: TestApp, token: string, changes: unknown[]) {
  const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

async function pullAll(t: TestApp, token: string) {
  const res = await t.request("GET", "/api/sync/data?limit=1000", { token });
  assert.equal(res.status, 200);
  return await res.json();
}

withDrivers("push", (_open, kind) => {
  Deno.test({
    name:
      "stores new items as version 1, fast-forwards with the stored base_version, tombstones deletes",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const profile = { name: "prod", host: "prod.example.com", username: "deploy" };
      const first = await push(t, d.token, [change("ssh_profiles", "p1", profile)]);
      assert.deepEqual(
        first.results.map((r: { status: string; version: number }) => [r.status, r.version]),
        [
          ["applied", 1],
        ],
      );
      const second = await push(t, d.token, [
        change("ssh_profiles", "p1", { ...profile, port: 2222 }, { base_version: 1 }),
      ]);
      assert.equal(second.results[0].version, 2);
      const del = await push(t, d.token, [
        change("ssh_profiles", "p1", undefined, { base_version: 2 }),
      ]);
      assert.deepEqual([del.results[0].status, del.results[0].version], ["applied", 3]);
      const pulled = await pullAll(t, d.token);
      assert.equal(pulled.changes.length, 1);
      assert.equal(pulled.changes[0].deleted, true);
      assert.equal(pulled.changes[0].data, null);
      assert.equal(pulled.changes[0].version, 3);
      assert.equal(pulled.changes[0].device_id, d.id);
      assert.equal(pulled.cursor, del.cursor);
    },
  });

  Deno.test({
    name: "a retried batch writes nothing and answers duplicate with the same versions",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const batch = [command("ls"), command("pwd"), change("settings", "ui", { theme: "dark" })];
      const first = await push(t, d.token, batch);
      assert.deepEqual(first.results.map((r: { status: string }) => r.status), [
        "applied",
        "applied",
        "applied",
      ]);
      const again = await push(t, d.token, batch);
      assert.deepEqual(
        again.results.map((r: { status: string; version: number }) => [r.status, r.version]),
        [["duplicate", 1], ["duplicate", 1], ["duplicate", 1]],
      );
      assert.equal(again.cursor, first.cursor);
      const pulled = await pullAll(t, d.token);
      assert.equal(pulled.changes.length, 3);
    },
  });

  Deno.test({
    name:
      "a retried change is known by the version it wrote, current or superseded; its change_id on another item is a new change",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const profile = { name: "prod", host: "prod.example.com", username: "deploy" };
      const first = change("ssh_profiles", "p1", profile);
      const second = change("ssh_profiles", "p1", { ...profile, port: 2222 }, { base_version: 1 });
      await push(t, d.token, [first]);
      await push(t, d.token, [second]);
      const outcomes = (res: { results: { status: string; version: number }[] }) =>
        res.results.map((r) => [r.status, r.version]);
      // The first's version is history now, the second's is current.
      assert.deepEqual(outcomes(await push(t, d.token, [first, second])), [
        ["duplicate", 1],
        ["duplicate", 2],
      ]);
      // Retries name their item; the same change_id on another item is that item's change.
      const elsewhere = change("ssh_profiles", "p2", profile, { change_id: second.change_id });
      assert.deepEqual(outcomes(await push(t, d.token, [elsewhere])), [["applied", 1]]);
      assert.deepEqual(outcomes(await push(t, d.token, [elsewhere])), [["duplicate", 1]]);
      assert.deepEqual(outcomes(await push(t, d.token, [second])), [["duplicate", 2]]);
      const pulled = await pullAll(t, d.token);
      assert.deepEqual(
        pulled.changes.map((c: { id: string; version: number }) => [c.id, c.version]),
        [["p1", 2], ["p2", 1]],
      );
    },
  });

  Deno.test({
    name: "one bad change is rejected alone with its code; the rest of the batch is stored",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const good = command("make test");
      const badChecksum = change("settings", "ui", { theme: "dark" }, { checksum: "0".repeat(64) });
      const goodChecksum = change("settings", "terminal", { font: "mono" }, {
        checksum: sha256Hex(canonicalJson({ font: "mono" })),
      });
      const res = await push(t, d.token, [
        good,
        { ...command("x"), extra: 1 },
        change("commands", "bad id!", { command: "ls", session_id: "s", started_at: 1 }),
        change("ssh_profiles", "p", { name: "p", host: "h", username: "u", port: 70000 }),
        change("ssh_keys", "k", { ...SSH_KEY, unknown_field: true }),
        badChecksum,
        goodChecksum,
        "not an object",
      ]);
      const summary = res.results.map((r: { status: string; error?: { code: string } }) =>
        r.error?.code ?? r.status
      );
      assert.deepEqual(summary, [
        "applied",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "SYNC_DATA_CORRUPTION",
        "applied",
        "VALIDATION_FAILED",
      ]);
      assert.equal(res.results[7].change_id, null);
      assert.ok(res.results[3].error.details.fields["data.port"]);
      const pulled = await pullAll(t, d.token);
      assert.deepEqual(
        pulled.changes.map((c: { id: string }) => c.id).sort(),
        [good.id, "terminal"].sort(),
      );
    },
  });

  Deno.test({
    name: "private key material is rejected, never stored, and never echoed in the error",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const res = await push(t, d.token, [
        change("ssh_keys", "k1", { ...SSH_KEY, comment: PRIVATE_KEY_BLOCK }),
        change("ssh_profiles", "p1", {
          name: "p",
          host: "h",
          username: "u",
          notes: PRIVATE_KEY_BLOCK,
        }),
        change("ssh_keys", "k2", SSH_KEY),
      ]);
      assert.deepEqual(res.results.map((r: { status: string }) => r.status), [
        "rejected",
        "rejected",
        "applied",
      ]);
      assert.equal(res.results[0].error.code, "VALIDATION_FAILED");
      assert.ok(!JSON.stringify(res).includes("b3BlbnNzaC1rZXktdjEAAAAA"));
      const rows = await t.db.driver.query<{ n: number }>(
        "select count(*)::int as n from items where data::text like '%PRIVATE KEY%'",
      );
      assert.equal(rows[0].n, 0);
    },
  });

  Deno.test({
    name: "commands with secrets are filtered; the same command in the same session is a duplicate",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const secretCommands = [
        "export AWS_SECRET_ACCESS_KEY=abcd1234abcd1234",
        "curl -H 'Authorization: Bearer abcdef123456' https://api.example.com",
        "git clone https://user:hunter2@example.com/repo.git",
        "mysql -u root -phunter2",
        "echo AKIAABCDEFGHIJKLMNOP",
      ];
      const first = command("git status");
      const res = await push(t, d.token, [
        first,
        ...secretCommands.map((c) => command(c)),
        command("git status"),
        command("git status", {
          data: { command: "git status", session_id: "other", started_at: 1 },
        }),
      ]);
      assert.deepEqual(res.results.map((r: { status: string }) => r.status), [
        "applied",
        "filtered",
        "filtered",
        "filtered",
        "filtered",
        "filtered",
        "duplicate",
        "applied",
      ]);
      const pulled = await pullAll(t, d.token);
      assert.equal(pulled.changes.length, 2);
      assert.ok(!JSON.stringify(pulled).includes("hunter2"));
      const stats = await (await t.request("GET", "/api/sync/stats", { token: d.token })).json();
      assert.equal(stats.filtered_commands, 5);
      assert.equal(stats.collections.commands.items, 2);
    },
  });

  Deno.test({
    name: "client clocks ahead of the server are clamped to server time + 5 minutes",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const future = Date.now() + 365 * 24 * 3600 * 1000;
      await push(t, d.token, [change("settings", "ui", { a: 1 }, { modified_at: future })]);
      const [item] = (await pullAll(t, d.token)).changes;
      assert.ok(item.modified_at <= Date.now() + 5 * 60 * 1000);
      assert.ok(item.modified_at > Date.now() + 4 * 60 * 1000);
    },
  });

  Deno.test({
    name: "an expired tier refuses writes with 402 and keeps reads",
    fn: async () => {
      await using t = await openTestApp(kind);
      const account = await t.accountToken("dave", "pro", {
        tierExpiresAt: Math.floor(Date.now() / 1000) - 60,
      });
      const reg = await (await t.request("POST", "/api/devices/register", {
        token: account,
        body: { name: "x", platform: "web" },
      })).json();
      const res = await t.request("POST", "/api/sync/data", {
        token: reg.token,
        body: { changes: [command("ls")] },
      });
      assert.equal(res.status, 402);
      assert.equal((await res.json()).error.code, "SYNC_SUBSCRIPTION_EXPIRED");
      assert.equal((await t.request("GET", "/api/sync/data", { token: reg.token })).status, 200);
    },
  });

  Deno.test({
    name:
      "bodies that fail as a whole get one clear error: malformed JSON, 0 or 501 changes, unknown keys, oversize",
    fn: async () => {
      await using t = await openTestApp(kind, { maxBodyBytes: 64 * 1024 });
      const d = await t.device("alice");
      const cases: [unknown, number, string][] = [
        ['{"changes": [', 422, "VALIDATION_FAILED"],
        [{ changes: [] }, 422, "VALIDATION_FAILED"],
        [{ changes: Array.from({ length: 501 }, () => ({})) }, 422, "VALIDATION_FAILED"],
        [{ changes: [command("ls")], force: true }, 422, "VALIDATION_FAILED"],
        [{ changes: [command("x".repeat(70_000))] }, 413, "PAYLOAD_TOO_LARGE"],
      ];
      for (const [body, status, code] of cases) {
        const res = await t.request("POST", "/api/sync/data", { token: d.token, body });
        assert.equal(res.status, status);
        const json = await res.json();
        assert.equal(json.error.code, code);
        assert.equal(typeof json.error.message, "string");
        assert.equal(typeof json.error.details, "object");
      }
      assert.equal((await pullAll(t, d.token)).changes.length, 0);
      const account = await t.request("POST", "/api/sync/data", {
        token: await t.accountToken("alice"),
        body: { changes: [command("ls")] },
      });
      assert.equal(account.status, 401);
    },
  });

  Deno.test({
    name: "a stale base_version never overwrites silently: the collection's strategy decides",
    fn: async () => {
      await using t = await openTestApp(kind);
      const a = await t.device("alice", "a");
      const b = await t.device("alice", "b");
      await push(t, a.token, [
        change("ai_preferences", "main", { provider: "openai" }, { modified_at: 1000 }),
      ]);
      await push(t, a.token, [
        change("ai_preferences", "main", { provider: "anthropic" }, {
          base_version: 1,
          modified_at: 3000,
        }),
      ]);
      // b last saw version 1 and its edit is older: timestamp keeps the stored version.
      const res = await push(t, b.token, [
        change("ai_preferences", "main", { provider: "local" }, {
          base_version: 1,
          modified_at: 2000,
        }),
      ]);
      assert.deepEqual([res.results[0].status, res.results[0].version], ["kept_remote", 2]);
      const [item] = (await pullAll(t, a.token)).changes;
      assert.equal(item.data.provider, "anthropic");
    },
  });
});
