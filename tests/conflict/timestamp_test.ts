import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson, compareVersions, laterSide, timestamp } from "../../conflict/mod.ts";
import type { Version } from "../../conflict/mod.ts";
import {
  applyPatch,
  assertSymmetric,
  data,
  inputs,
  live,
  OPTIONS,
  tombstone,
  version,
} from "./arbitraries.ts";

Deno.test("timestamp() keeps the later version whole", () => {
  const base = live({ a: 0, b: 0 });
  const local = live({ a: 1, b: 0 }, 2);
  const remote = live({ a: 0, b: 1 }, 3);
  assert.deepEqual(timestamp({ base, local, remote }, OPTIONS), { kind: "keep_remote" });
  assert.deepEqual(timestamp({ base, local: { ...local, modified_at: 4 }, remote }, OPTIONS), {
    kind: "take_local",
  });
});

Deno.test("timestamp() breaks ties on the greater device_id string", () => {
  const fromA = live({ a: 1 }, 7, "device-A");
  const froma = live({ a: 2 }, 7, "device-a");
  // "a" (0x61) sorts after "A" (0x41) in code unit order, whatever the locale says.
  assert.deepEqual(timestamp({ base: null, local: froma, remote: fromA }, OPTIONS), {
    kind: "take_local",
  });
  assert.deepEqual(timestamp({ base: null, local: fromA, remote: froma }, OPTIONS), {
    kind: "keep_remote",
  });
});

Deno.test("timestamp() decides a same-device same-millisecond tie by content", () => {
  const one = live({ a: 1 }, 7, "d");
  const two = live({ a: 2 }, 7, "d");
  assert.deepEqual(timestamp({ base: null, local: two, remote: one }, OPTIONS), {
    kind: "take_local",
  });
  assert.deepEqual(timestamp({ base: null, local: one, remote: two }, OPTIONS), {
    kind: "keep_remote",
  });
  // A tombstone counts as the empty string, so a live version wins a full tie.
  assert.deepEqual(timestamp({ base: null, local: tombstone(7, "d"), remote: one }, OPTIONS), {
    kind: "keep_remote",
  });
});

Deno.test("timestamp() lets the later of a delete and an update win", () => {
  const updated = live({ a: 1 }, 5);
  assert.deepEqual(timestamp({ base: null, local: tombstone(6), remote: updated }, OPTIONS), {
    kind: "take_local",
  });
  assert.deepEqual(timestamp({ base: null, local: tombstone(4), remote: updated }, OPTIONS), {
    kind: "keep_remote",
  });
  assert.deepEqual(timestamp({ base: null, local: updated, remote: tombstone(4) }, OPTIONS), {
    kind: "take_local",
  });
});

Deno.test("timestamp() keeps remote when both sides hold the same content", () => {
  assert.deepEqual(timestamp({ base: null, local: tombstone(9), remote: tombstone(1) }, OPTIONS), {
    kind: "keep_remote",
  });
  assert.deepEqual(
    timestamp({ base: null, local: live({ a: 1 }, 9), remote: live({ a: 1 }, 1) }, OPTIONS),
    {
      kind: "keep_remote",
    },
  );
});

Deno.test("timestamp() picks the same winner whatever the argument order", () => {
  assertSymmetric(timestamp);
});

Deno.test("timestamp() never picks a side with an earlier modified_at", () => {
  fc.assert(fc.property(inputs, (input) => {
    const winner = laterSide(input) === "local" ? input.local : input.remote;
    assert.equal(winner.modified_at, Math.max(input.local.modified_at, input.remote.modified_at));
  }));
});

Deno.test("compareVersions() is a total order: antisymmetric and zero only for equals", () => {
  const meta = fc.record({
    modified_at: fc.nat(2),
    device_id: fc.constantFrom("a", "b"),
    deleted: fc.boolean(),
  });
  const versions: fc.Arbitrary<Version> = fc.tuple(data, fc.option(data, { nil: undefined }), meta)
    .map(([d, edit, m]) => version(edit ? applyPatch(d, edit) : d, m));
  fc.assert(fc.property(versions, versions, (a, b) => {
    assert.equal(Math.sign(compareVersions(a, b)) + Math.sign(compareVersions(b, a)), 0);
    if (compareVersions(a, b) === 0) {
      assert.equal(a.modified_at, b.modified_at);
      assert.equal(a.device_id, b.device_id);
      assert.equal(
        canonicalJson(a.deleted ? null : a.data),
        canonicalJson(b.deleted ? null : b.data),
      );
    }
  }));
});
