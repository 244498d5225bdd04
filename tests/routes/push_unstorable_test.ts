import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { change, command } from "../support/changes.ts";
import { outcome, pullAll, pushOk } from "../support/sync_api.ts";

const PROFILE = { name: "p", host: "h", username: "u" };

/** Data Postgres cannot store (jsonb refuses NUL and lone surrogates), and the path named. */
const UNSTORABLE: [string, string, Record<string, unknown>, string][] = [
  ["a NUL in a value", "settings", { notes: "a\u0000b" }, "data.notes"],
  ["a lone high surrogate", "settings", { notes: "x\ud800" }, "data.notes"],
  ["a lone low surrogate", "settings", { notes: "\udc00x" }, "data.notes"],
  ["a reversed pair", "settings", { notes: "\udc00\ud800" }, "data.notes"],
  ["a NUL in a key", "settings", { ["a\u0000"]: 1 }, "data.a\\u0000"],
  ["a lone surrogate in a nested key", "settings", {
    outer: { list: [{ ["\ud800k"]: true }] },
  }, "data.outer.list.0.\\ud800k"],
  ["a NUL deep in arrays", "settings", { outer: [[["ok", "\u0000"]]] }, "data.outer.0.0.1"],
  ["a NUL in a command", "commands", {
    command: "ls\u0000",
    session_id: "s1",
    started_at: 1,
  }, "data.command"],
  ["a surrogate in a session id", "commands", {
    command: "ls",
    session_id: "\udfff",
    started_at: 1,
  }, "data.session_id"],
  ["a NUL in profile notes", "ssh_profiles", { ...PROFILE, notes: "\u0000" }, "data.notes"],
  ["a surrogate in an unknown profile field", "ssh_profiles", {
    ...PROFILE,
    extra: { ["\udc00"]: "v" },
  }, "data.extra.\\udc00"],
  ["a NUL in an AI template", "ai_preferences", {
    provider: "p",
    templates: [{ name: "t", prompt: "\u0000" }],
  }, "data.templates.0.prompt"],
];

/** `{a: {a: … 1}}` with `levels` objects, the outermost included. */
function nested(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 1; i < levels; i++) value = { a: value };
  return { a: value };
}

withDrivers("push", (_open, kind) => {
  Deno.test({
    name:
      "data Postgres cannot store (NUL, lone surrogates; values and keys, any depth) is rejected alone, naming the path",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      // Each bad change between two good ones.
      const batch = UNSTORABLE.flatMap(([, collection, data], i) => [
        command(`echo ${i}`),
        change(collection, `bad${i}`, data),
      ]).concat(change("settings", "ui", { theme: "dark" }));
      const first = await pushOk(t, d.token, batch);
      const expected = UNSTORABLE.flatMap(() => ["applied", "VALIDATION_FAILED"]).concat("applied");
      assert.deepEqual(first.results.map(outcome), expected);
      UNSTORABLE.forEach(([label, , , path], i) => {
        const rejected = first.results[2 * i + 1];
        assert.equal(rejected.change_id, batch[2 * i + 1].change_id, label);
        assert.deepEqual(Object.keys(rejected.error!.details!.fields!), [path], label);
        assert.ok(!/postgres|jsonb|sqlstate/i.test(JSON.stringify(rejected)), label);
      });
      const stored = await pullAll(t, d.token);
      assert.deepEqual(
        stored.map((i) => i.id).sort(),
        batch.filter((_, i) => expected[i] === "applied").map((c) => c.id).sort(),
      );
      const retry = await pushOk(t, d.token, batch);
      assert.deepEqual(
        retry.results.map((r) => [outcome(r), r.version, r.error]),
        first.results.map((r) => [r.error ? outcome(r) : "duplicate", r.version, r.error]),
      );
    },
  });

  Deno.test({
    name: "data nested 64 levels is stored as sent; 65 levels or thousands are rejected alone",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const deepest = change("settings", "deep64", nested(64));
      const batch = [
        deepest,
        change("settings", "deep65", nested(65)),
        change("settings", "deep5000", { list: [nested(5000)] }),
        change("ssh_profiles", "p", { ...PROFILE, extra: nested(3000) }),
        command("make"),
      ];
      const res = await pushOk(t, d.token, batch);
      assert.deepEqual(res.results.map(outcome), [
        "applied",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
        "applied",
      ]);
      const path = (prefix: string, levels: number) =>
        [prefix, ...Array.from({ length: levels }, () => "a")].join(".");
      // The container that goes one level too deep is the one named.
      assert.deepEqual(res.results[1].error!.details!.fields, {
        [path("data", 64)]: "nests deeper than 64 levels",
      });
      assert.deepEqual(Object.keys(res.results[2].error!.details!.fields!), [
        path("data.list.0", 62),
      ]);
      assert.deepEqual(Object.keys(res.results[3].error!.details!.fields!), [
        path("data.extra", 63),
      ]);
      const stored = await pullAll(t, d.token);
      assert.deepEqual(stored.find((i) => i.id === "deep64")?.data, deepest.data);
      assert.equal(stored.length, 2);
    },
  });

  Deno.test({
    name: "a change whose data nests a million levels is rejected alone, without a 5xx",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const good = change("settings", "ui", { theme: "dark" });
      const bad = change("settings", "deep", { x: "__DEEP__" });
      const levels = 1_000_000;
      const body = JSON.stringify({ changes: [bad, good] }).replace(
        '"__DEEP__"',
        "[".repeat(levels) + "]".repeat(levels),
      );
      const res = await t.request("POST", "/api/sync/data", { token: d.token, body });
      assert.equal(res.status, 200);
      const json = await res.json();
      assert.deepEqual(json.results.map(outcome), ["VALIDATION_FAILED", "applied"]);
      assert.deepEqual(Object.values(json.results[0].error.details.fields), [
        "nests deeper than 64 levels",
      ]);
    },
  });

  Deno.test({
    name: "a body nested too deep to be a push answers 422 VALIDATION_FAILED",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      for (
        const body of [
          "[".repeat(1_000_000) + "]".repeat(1_000_000),
          `{"changes":${"[".repeat(1_000_000)}`,
        ]
      ) {
        const res = await t.request("POST", "/api/sync/data", { token: d.token, body });
        assert.equal(res.status, 422);
        assert.equal((await res.json()).error.code, "VALIDATION_FAILED");
      }
    },
  });

  Deno.test({
    name: "text Postgres cannot store is refused in other bodies too, naming the field",
    fn: async () => {
      await using t = await openTestApp(kind);
      const token = await t.accountToken("alice");
      for (const name of ["phone\u0000", "phone\ud800"]) {
        const res = await t.request("POST", "/api/devices/register", {
          token,
          body: { name, platform: "ios" },
        });
        assert.equal(res.status, 422);
        const json = await res.json();
        assert.equal(json.error.code, "VALIDATION_FAILED");
        assert.deepEqual(Object.keys(json.error.details.fields), ["name"]);
      }
      const listed = await t.request("GET", "/api/devices", { token });
      assert.deepEqual((await listed.json()).devices, []);
    },
  });
});
