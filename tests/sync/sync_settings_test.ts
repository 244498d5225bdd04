import assert from "node:assert/strict";
import { readSyncSettings, SyncSettings } from "../../sync/sync_settings.ts";

Deno.test("SyncSettings refuses patterns the linear-time engine cannot run, naming each field", () => {
  const parsed = SyncSettings.safeParse({
    secret_patterns: ["ok", "(?=look)"],
    history_rules: [
      { match: { pattern: "fine" }, action: "local_only" },
      { match: { pattern: String.raw`(\w)\1` }, action: "local_only" },
    ],
  });
  assert.equal(parsed.success, false);
  const paths = parsed.error!.issues.map((issue) => issue.path.join("."));
  assert.deepEqual(paths.sort(), ["history_rules.1.match.pattern", "secret_patterns.1"]);
});

Deno.test("SyncSettings accepts (a+)+$ and (?i): RE2 runs them in linear time", () => {
  assert.equal(SyncSettings.safeParse({ secret_patterns: ["(a+)+$", "(?i)token"] }).success, true);
});

Deno.test("readSyncSettings() keeps stored settings whose old patterns a newer rule refuses", () => {
  const stored = {
    conflict_strategies: { commands: "manual" },
    secret_patterns: ["(?=stored-before-the-rule)"],
  };
  const settings = readSyncSettings(stored);
  assert.deepEqual(settings.conflict_strategies, { commands: "manual" });
  assert.deepEqual(settings.secret_patterns, ["(?=stored-before-the-rule)"]);
});
