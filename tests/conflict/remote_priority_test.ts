import assert from "node:assert/strict";
import fc from "fast-check";
import { remotePriority } from "../../conflict/mod.ts";
import { inputs, live, OPTIONS, runPure, tombstone } from "./arbitraries.ts";

Deno.test("remotePriority() keeps the stored version even when it is older", () => {
  const outcome = remotePriority({
    base: null,
    local: live({ a: 1 }, 9),
    remote: live({ a: 2 }, 1),
  }, OPTIONS);
  assert.deepEqual(outcome, { kind: "keep_remote" });
});

Deno.test("remotePriority() keeps a stored item through an incoming delete", () => {
  const outcome = remotePriority(
    { base: null, local: tombstone(9), remote: live({ a: 2 }, 1) },
    OPTIONS,
  );
  assert.deepEqual(outcome, { kind: "keep_remote" });
});

Deno.test("remotePriority() keeps a stored tombstone through an incoming update", () => {
  const outcome = remotePriority(
    { base: null, local: live({ a: 1 }, 9), remote: tombstone(1) },
    OPTIONS,
  );
  assert.deepEqual(outcome, { kind: "keep_remote" });
});

Deno.test("remotePriority() always keeps remote", () => {
  fc.assert(fc.property(inputs, (input) => {
    assert.deepEqual(runPure(remotePriority, input), { kind: "keep_remote" });
  }));
});
