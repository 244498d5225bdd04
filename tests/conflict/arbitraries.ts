import assert from "node:assert/strict";
/** fast-check generators and helpers shared by the conflict tests (not a test file). */
import fc from "fast-check";
import { applyOutcome, canonicalJson } from "../../conflict/mod.ts";
import type { MergeInput, MergeOptions, Outcome, Strategy, Version } from "../../conflict/mod.ts";

export const OPTIONS: MergeOptions = { setFields: ["tags"], dedupeKey: [] };

type Data = Record<string, unknown>;

/** A small key space, so generated sides touch the same fields often. */
const KEYS = ["a", "b", "c", "tags", "nested", "constructor"] as const;
const leaf = fc.oneof(
  fc.integer({ min: 0, max: 2 }),
  fc.constantFrom("x", "y"),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.constantFrom("t1", "t2", "t3", "t4"), { maxLength: 4 }),
  fc.array(fc.record({ n: fc.integer({ min: 0, max: 2 }) }), { maxLength: 2 }),
);
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("p", "q", "r"), leaf, { maxKeys: 3 }) },
);
export const data: fc.Arbitrary<Data> = fc.dictionary(fc.constantFrom(...KEYS), value, {
  maxKeys: 5,
});

/** Field edits: a new value, or `undefined` for a deleted field. */
export const patch: fc.Arbitrary<Data> = fc.dictionary(
  fc.constantFrom(...KEYS),
  fc.option(value, { nil: undefined }),
  { maxKeys: 3 },
);

export function applyPatch(base: Data, edits: Data): Data {
  const out: Data = { ...base };
  for (const [key, edit] of Object.entries(edits)) {
    if (edit === undefined) delete out[key];
    else out[key] = edit;
  }
  return out;
}

const meta = fc.record({
  modified_at: fc.integer({ min: 0, max: 3 }),
  device_id: fc.constantFrom("dev-a", "dev-b"),
  deleted: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});

export function version(
  content: Data,
  m: { modified_at: number; device_id: string; deleted: boolean },
): Version {
  return m.deleted
    ? { data: null, deleted: true, modified_at: m.modified_at, device_id: m.device_id }
    : { data: content, deleted: false, modified_at: m.modified_at, device_id: m.device_id };
}

/** Conflicts as they happen: both sides edited a common base (sometimes unknown). */
export const input: fc.Arbitrary<MergeInput> = fc
  .tuple(data, patch, patch, meta, meta, meta, fc.boolean())
  .map(([base, editL, editR, mb, ml, mr, knownBase]) => ({
    base: knownBase ? version(base, mb) : null,
    local: version(applyPatch(base, editL), ml),
    remote: version(applyPatch(base, editR), mr),
  }));

/** Conflicts between unrelated sides: every rule must still hold. */
export const anyInput: fc.Arbitrary<MergeInput> = fc
  .tuple(data, data, data, meta, meta, meta, fc.boolean())
  .map(([b, l, r, mb, ml, mr, knownBase]) => ({
    base: knownBase ? version(b, mb) : null,
    local: version(l, ml),
    remote: version(r, mr),
  }));

export const inputs: fc.Arbitrary<MergeInput> = fc.oneof(input, anyInput);

export function swap({ base, local, remote }: MergeInput): MergeInput {
  return { base, local: remote, remote: local };
}

/** What the store holds after the outcome, as comparable text. */
export function stored(input: MergeInput, outcome: Outcome): string {
  const content = applyOutcome(input, outcome);
  return canonicalJson(content.deleted ? { deleted: true } : { data: content.data ?? {} });
}

/** Swapping local and remote stores the same data, for every generated input. */
export function assertSymmetric(
  strategy: Strategy,
  { arbitrary = inputs, options = OPTIONS, numRuns = 1000 } = {},
): void {
  fc.assert(
    fc.property(arbitrary, (input) => {
      assert.equal(
        stored(input, runPure(strategy, input, options)),
        stored(swap(input), strategy(swap(input), options)),
      );
    }),
    { numRuns },
  );
}

/** Runs `strategy` with the clock and randomness made unusable: it must need neither. */
export function runPure(strategy: Strategy, input: MergeInput, options = OPTIONS): Outcome {
  const { now } = Date;
  const { random } = Math;
  const forbidden = () => {
    throw new Error("A conflict strategy must not read the clock or randomness");
  };
  Date.now = forbidden;
  Math.random = forbidden;
  try {
    return strategy(input, options);
  } finally {
    Date.now = now;
    Math.random = random;
  }
}

/** A live version for unit tests. */
export function live(data: Data, modified_at = 1, device_id = "dev-a"): Version {
  return { data, deleted: false, modified_at, device_id };
}

/** A tombstone for unit tests. */
export function tombstone(modified_at = 1, device_id = "dev-a"): Version {
  return { data: null, deleted: true, modified_at, device_id };
}

const commandData = fc.record({
  command: fc.constantFrom("ls", "make"),
  session_id: fc.constantFrom("s1", "s2"),
  exit_code: fc.integer({ min: 0, max: 2 }),
  cwd: fc.constantFrom("/", "/tmp"),
  recent: fc.array(
    fc.record({
      command: fc.constantFrom("ls", "pwd"),
      session_id: fc.constant("s1"),
      n: fc.nat(1),
    }, {
      requiredKeys: ["command", "session_id"],
    }),
    { maxLength: 3 },
  ),
}, { requiredKeys: ["command", "session_id"] });

/** Command-history conflicts, so dedupe keys collide often. */
export const commandInput: fc.Arbitrary<MergeInput> = fc
  .tuple(commandData, commandData, commandData, meta, meta, meta, fc.boolean())
  .map(([b, l, r, mb, ml, mr, knownBase]) => ({
    base: knownBase ? version(b, mb) : null,
    local: version(l, ml),
    remote: version(r, mr),
  }));
