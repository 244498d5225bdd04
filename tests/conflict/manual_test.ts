import assert from "node:assert/strict";
import fc from "fast-check";
import { manual, sameContent } from "../../conflict/mod.ts";
import { inputs, live, OPTIONS, runPure, tombstone } from "./arbitraries.ts";

Deno.test("manual() asks the user when both sides changed", () => {
  const base = live({ a: 0 });
  assert.deepEqual(manual({ base, local: live({ a: 1 }, 2), remote: live({ a: 2 }, 3) }, OPTIONS), {
    kind: "manual",
  });
  assert.deepEqual(manual({ base: null, local: live({ a: 1 }), remote: live({ b: 1 }) }, OPTIONS), {
    kind: "manual",
  });
});

Deno.test("manual() asks the user about delete-vs-update in both directions", () => {
  const base = live({ a: 0 });
  const updated = live({ a: 1 }, 2);
  assert.deepEqual(manual({ base, local: tombstone(3), remote: updated }, OPTIONS), {
    kind: "manual",
  });
  assert.deepEqual(manual({ base, local: updated, remote: tombstone(3) }, OPTIONS), {
    kind: "manual",
  });
});

Deno.test("manual() does not ask when only one side changed", () => {
  const base = live({ a: 0 }, 1);
  const changed = live({ a: 1 }, 2);
  assert.deepEqual(manual({ base, local: changed, remote: live({ a: 0 }, 5) }, OPTIONS), {
    kind: "take_local",
  });
  assert.deepEqual(manual({ base, local: live({ a: 0 }, 5), remote: changed }, OPTIONS), {
    kind: "keep_remote",
  });
});

Deno.test("manual() keeps remote when both sides hold the same content", () => {
  assert.deepEqual(manual({ base: live({}), local: tombstone(1), remote: tombstone(2) }, OPTIONS), {
    kind: "keep_remote",
  });
  fc.assert(fc.property(inputs, (input) => {
    const outcome = runPure(manual, input);
    if (sameContent(input.local, input.remote)) assert.deepEqual(outcome, { kind: "keep_remote" });
    assert.notEqual(outcome.kind, "merged");
  }));
});
