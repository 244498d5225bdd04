/**
 * The merges decide their outcome from their own walk (no whole-object comparison
 * afterwards): the kind must still be exactly what comparing the stored content with
 * both sides says, on small generated objects and on wide ones like real settings.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  additive,
  applyOutcome,
  fieldMerge,
  type MergeInput,
  type MergeOptions,
  sameContent,
  type Strategy,
} from "../../conflict/mod.ts";
import { applyPatch, commandInput, inputs, OPTIONS, version } from "./arbitraries.ts";

const scalar = fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom("x", "y"), fc.boolean());
const small = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(fc.constantFrom("t1", "t2", "t3"), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("p", "q", "r"), scalar, { maxKeys: 3 }) },
);
const WIDE_KEYS = Array.from({ length: 30 }, (_, i) => `k${i}`).concat("tags", "constructor");
const wideBase = fc.record(Object.fromEntries(WIDE_KEYS.map((key) => [key, small])), {
  requiredKeys: [],
});
const widePatch = fc.dictionary(
  fc.constantFrom(...WIDE_KEYS),
  fc.option(small, { nil: undefined }),
  { maxKeys: 6 },
);
const meta = fc.record({
  modified_at: fc.integer({ min: 0, max: 3 }),
  device_id: fc.constantFrom("dev-a", "dev-b"),
  deleted: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

/** Many fields, a few edited on each side: the shape the fast paths are for. */
const wideInput: fc.Arbitrary<MergeInput> = fc
  .tuple(wideBase, widePatch, widePatch, meta, meta, meta, fc.boolean())
  .map(([base, editL, editR, mb, ml, mr, knownBase]) => ({
    base: knownBase ? version(base, mb) : null,
    local: version(applyPatch(base, editL), ml),
    remote: version(applyPatch(base, editR), mr),
  }));

function assertCheapestKind(
  strategy: Strategy,
  arbitrary: fc.Arbitrary<MergeInput>,
  options: MergeOptions,
) {
  fc.assert(
    fc.property(arbitrary, (input) => {
      const outcome = strategy(input, options);
      if (outcome.kind === "manual") return;
      const content = applyOutcome(input, outcome);
      const expected = sameContent(content, input.remote)
        ? "keep_remote"
        : sameContent(content, input.local)
        ? "take_local"
        : "merged";
      assert.equal(outcome.kind, expected);
    }),
    { numRuns: 3000 },
  );
}

const COMMANDS = { setFields: [], dedupeKey: ["command", "session_id"] };

Deno.test("fieldMerge() answers keep_remote/take_local exactly when the result equals that side", () => {
  assertCheapestKind(fieldMerge, inputs, OPTIONS);
  assertCheapestKind(fieldMerge, wideInput, OPTIONS);
});

Deno.test("additive() answers keep_remote/take_local exactly when the result equals that side", () => {
  assertCheapestKind(additive, inputs, OPTIONS);
  assertCheapestKind(additive, wideInput, OPTIONS);
  assertCheapestKind(additive, commandInput, COMMANDS);
});
