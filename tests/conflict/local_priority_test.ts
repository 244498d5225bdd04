import assert from "node:assert/strict";
import fc from "fast-check";
import { localPriority, sameContent } from "../../conflict/mod.ts";
import { inputs, live, OPTIONS, runPure, tombstone } from "./arbitraries.ts";

Deno.test("localPriority() takes the incoming version even when it is older", () => {
  const outcome = localPriority(
    { base: null, local: live({ a: 1 }, 1), remote: live({ a: 2 }, 9) },
    OPTIONS,
  );
  assert.deepEqual(outcome, { kind: "take_local" });
});

Deno.test("localPriority() lets an incoming delete remove the stored item", () => {
  const outcome = localPriority(
    { base: null, local: tombstone(1), remote: live({ a: 2 }, 9) },
    OPTIONS,
  );
  assert.deepEqual(outcome, { kind: "take_local" });
});

Deno.test("localPriority() lets an incoming update bring a deleted item back", () => {
  const outcome = localPriority(
    { base: null, local: live({ a: 1 }, 1), remote: tombstone(9) },
    OPTIONS,
  );
  assert.deepEqual(outcome, { kind: "take_local" });
});

Deno.test("localPriority() keeps remote when both sides hold the same content", () => {
  assert.deepEqual(
    localPriority({ base: null, local: tombstone(2), remote: tombstone(1) }, OPTIONS),
    {
      kind: "keep_remote",
    },
  );
  fc.assert(fc.property(inputs, (input) => {
    const outcome = runPure(localPriority, input);
    assert.equal(
      outcome.kind,
      sameContent(input.local, input.remote) ? "keep_remote" : "take_local",
    );
  }));
});
