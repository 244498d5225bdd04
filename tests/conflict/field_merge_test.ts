import assert from "node:assert/strict";
import fc from "fast-check";
import { applyOutcome, canonicalJson, fieldMerge, sameContent } from "../../conflict/mod.ts";
import {
  applyPatch,
  assertSymmetric,
  data,
  inputs,
  live,
  OPTIONS,
  patch,
  runPure,
  stored,
  tombstone,
  version,
} from "./arbitraries.ts";

Deno.test("fieldMerge() takes one-sided changes from both sides", () => {
  const outcome = fieldMerge({
    base: live({ host: "h", port: 22, user: "u", notes: "n" }, 1),
    local: live({ host: "h2", port: 22, user: "u", notes: "n" }, 3),
    remote: live({ host: "h", port: 2222, user: "u" }, 2),
  }, OPTIONS);
  assert.deepEqual(outcome, {
    kind: "merged",
    data: { host: "h2", port: 2222, user: "u" },
    deleted: false,
    modified_at: 3,
  });
});

Deno.test("fieldMerge() gives a field both sides changed to the later writer", () => {
  const base = live({ theme: "light", size: 12 }, 1);
  const local = live({ theme: "dark", size: 12 }, 2, "dev-a");
  const remote = live({ theme: "solarized", size: 14 }, 3, "dev-b");
  assert.deepEqual(fieldMerge({ base, local, remote }, OPTIONS), { kind: "keep_remote" });
  const earlyRemote = { ...remote, modified_at: 1 };
  assert.deepEqual(fieldMerge({ base, local, remote: earlyRemote }, OPTIONS), {
    kind: "merged",
    data: { theme: "dark", size: 14 },
    deleted: false,
    modified_at: 2,
  });
});

Deno.test("fieldMerge() breaks a timestamp tie on the greater device_id", () => {
  const base = live({ a: 0 });
  const fromB = live({ a: 2 }, 5, "dev-b");
  const fromA = live({ a: 1 }, 5, "dev-a");
  assert.deepEqual(fieldMerge({ base, local: fromB, remote: fromA }, OPTIONS), {
    kind: "take_local",
  });
  assert.deepEqual(fieldMerge({ base, local: fromA, remote: fromB }, OPTIONS), {
    kind: "keep_remote",
  });
});

Deno.test("fieldMerge() merges nested objects recursively", () => {
  const outcome = fieldMerge({
    base: live({ options: { Compression: "no", ServerAliveInterval: "30" } }, 1),
    local: live({ options: { Compression: "yes", ServerAliveInterval: "30" } }, 2),
    remote: live({ options: { Compression: "no", ServerAliveInterval: "60", User: "x" } }, 3),
  }, OPTIONS);
  assert.deepEqual(outcome, {
    kind: "merged",
    data: { options: { Compression: "yes", ServerAliveInterval: "60", User: "x" } },
    deleted: false,
    modified_at: 3,
  });
});

Deno.test("fieldMerge() counts a deleted field as a change", () => {
  const base = live({ jump_host: "bastion", port: 22 }, 1);
  const local = live({ port: 22 }, 2);
  const remote = live({ jump_host: "bastion", port: 2200 }, 3);
  assert.deepEqual(fieldMerge({ base, local, remote }, OPTIONS), {
    kind: "merged",
    data: { port: 2200 },
    deleted: false,
    modified_at: 3,
  });
  // Deleted on one side, changed on the other: the later writer decides.
  const edited = live({ jump_host: "bastion2", port: 22 }, 3);
  assert.deepEqual(fieldMerge({ base, local, remote: edited }, OPTIONS), { kind: "keep_remote" });
  assert.deepEqual(
    fieldMerge({ base, local: { ...local, modified_at: 4 }, remote: edited }, OPTIONS),
    {
      kind: "take_local",
    },
  );
});

Deno.test("fieldMerge() merges set fields three-way: removals stick, additions are kept", () => {
  const outcome = fieldMerge({
    base: live({ tags: ["prod", "db", "eu"] }, 1),
    local: live({ tags: ["prod", "eu", "new-l"] }, 2),
    remote: live({ tags: ["prod", "db", "new-r"] }, 3),
  }, OPTIONS);
  assert.deepEqual(outcome, {
    kind: "merged",
    data: { tags: ["prod", "new-r", "new-l"] },
    deleted: false,
    modified_at: 3,
  });
});

Deno.test("fieldMerge() unions set fields when there is no base", () => {
  const local = live({ tags: ["a", "b"] }, 2);
  const remote = live({ tags: ["b", "c"] }, 1);
  assert.deepEqual(fieldMerge({ base: null, local, remote }, OPTIONS), {
    kind: "merged",
    data: { tags: ["a", "b", "c"] },
    deleted: false,
    modified_at: 2,
  });
});

Deno.test("fieldMerge() replaces lists not named in setFields like scalars", () => {
  const base = live({ tags: ["a"] }, 1);
  const local = live({ tags: ["a", "l"] }, 2);
  const remote = live({ tags: ["r"] }, 3);
  const options = { setFields: [], dedupeKey: [] };
  assert.deepEqual(fieldMerge({ base, local, remote }, options), { kind: "keep_remote" });
});

Deno.test("fieldMerge() takes fields present on one side only when base is null", () => {
  const outcome = fieldMerge({
    base: null,
    local: live({ a: 1, shared: "l" }, 1),
    remote: live({ b: 2, shared: "r" }, 2),
  }, OPTIONS);
  assert.deepEqual(outcome, {
    kind: "merged",
    data: { a: 1, b: 2, shared: "r" },
    deleted: false,
    modified_at: 2,
  });
});

Deno.test("fieldMerge() treats a tombstone base like no base", () => {
  const outcome = fieldMerge({
    base: tombstone(1),
    local: live({ a: 1 }, 2),
    remote: live({ b: 2 }, 3),
  }, OPTIONS);
  assert.equal(outcome.kind, "merged");
});

Deno.test("fieldMerge() gives delete-vs-update to the later writer", () => {
  const base = live({ a: 1 }, 1);
  const updated = live({ a: 2 }, 2);
  const deleted = tombstone(3);
  assert.deepEqual(fieldMerge({ base, local: deleted, remote: updated }, OPTIONS), {
    kind: "take_local",
  });
  assert.deepEqual(fieldMerge({ base, local: updated, remote: deleted }, OPTIONS), {
    kind: "keep_remote",
  });
  const lateUpdate = { ...updated, modified_at: 4 };
  assert.deepEqual(fieldMerge({ base, local: lateUpdate, remote: deleted }, OPTIONS), {
    kind: "take_local",
  });
});

Deno.test("fieldMerge() lets a delete win when the other side did not change", () => {
  const base = live({ a: 1 }, 1);
  const unchanged = live({ a: 1 }, 9);
  assert.deepEqual(fieldMerge({ base, local: tombstone(2), remote: unchanged }, OPTIONS), {
    kind: "take_local",
  });
});

Deno.test("fieldMerge() keeps remote when both deleted", () => {
  const outcome = fieldMerge(
    { base: live({ a: 1 }), local: tombstone(5), remote: tombstone(2) },
    OPTIONS,
  );
  assert.deepEqual(outcome, { kind: "keep_remote" });
});

Deno.test("fieldMerge() keeps a __proto__ field as data, not as a prototype", () => {
  const local = live(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'), 2);
  const remote = live({ b: 1 }, 1);
  const outcome = fieldMerge({ base: null, local, remote }, OPTIONS);
  assert.equal(outcome.kind, "merged");
  const merged = outcome.kind === "merged" ? outcome.data! : {};
  assert.ok(Object.hasOwn(merged, "__proto__"));
  assert.equal(Object.getPrototypeOf(merged), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("fieldMerge() is deterministic and needs no clock or randomness", () => {
  fc.assert(fc.property(inputs, (input) => {
    assert.equal(
      canonicalJson(runPure(fieldMerge, input)),
      canonicalJson(runPure(fieldMerge, structuredClone(input))),
    );
  }));
});

Deno.test("fieldMerge() is commutative: swapping local and remote stores the same data", () => {
  assertSymmetric(fieldMerge, { numRuns: 2000 });
});

Deno.test("fieldMerge() is idempotent: equal sides keep remote", () => {
  fc.assert(fc.property(inputs, fc.nat(), (input, skew) => {
    const copy = { ...structuredClone(input.local), modified_at: skew };
    assert.deepEqual(fieldMerge({ ...input, remote: copy }, OPTIONS), { kind: "keep_remote" });
  }));
});

Deno.test("fieldMerge() never loses a one-sided change", () => {
  fc.assert(fc.property(inputs, (input) => {
    if (!input.base) return;
    if (sameContent(input.local, input.base)) {
      assert.equal(
        stored(input, fieldMerge(input, OPTIONS)),
        stored(input, { kind: "keep_remote" }),
      );
    }
    if (sameContent(input.remote, input.base)) {
      assert.equal(
        stored(input, fieldMerge(input, OPTIONS)),
        stored(input, { kind: "take_local" }),
      );
    }
  }));
});

Deno.test("fieldMerge() applies edits to disjoint fields from both sides, whatever the clocks", () => {
  const meta = fc.record({
    modified_at: fc.nat(3),
    device_id: fc.constantFrom("x", "y"),
    deleted: fc.constant(false),
  });
  fc.assert(fc.property(data, patch, patch, meta, meta, (base, editL, editR, ml, mr) => {
    const onlyR = Object.fromEntries(
      Object.entries(editR).filter(([k]) => !Object.hasOwn(editL, k)),
    );
    const input = {
      base: version(base, { modified_at: 0, device_id: "x", deleted: false }),
      local: version(applyPatch(base, editL), ml),
      remote: version(applyPatch(base, onlyR), mr),
    };
    const expected = applyPatch(applyPatch(base, editL), onlyR);
    assert.equal(
      stored(input, fieldMerge(input, OPTIONS)),
      stored(input, { kind: "merged", data: expected, deleted: false, modified_at: 0 }),
    );
  }));
});

Deno.test("fieldMerge() never returns a merged copy of either side, and stamps the later time", () => {
  fc.assert(fc.property(inputs, (input) => {
    const outcome = fieldMerge(input, OPTIONS);
    if (outcome.kind !== "merged") return;
    const result = { data: outcome.data, deleted: outcome.deleted };
    assert.ok(!sameContent(result, input.local) && !sameContent(result, input.remote));
    assert.equal(outcome.modified_at, Math.max(input.local.modified_at, input.remote.modified_at));
  }));
});

Deno.test("fieldMerge() set fields follow three-way set semantics", () => {
  const tags = fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e"));
  fc.assert(fc.property(tags, tags, tags, fc.nat(3), fc.nat(3), (b, l, r, tl, tr) => {
    const input = {
      base: live({ tags: b }),
      local: live({ tags: l }, tl, "x"),
      remote: live({ tags: r }, tr, "y"),
    };
    const content = applyOutcome(input, fieldMerge(input, OPTIONS));
    const result = content.data?.tags as string[];
    const expected = [...new Set([...l, ...r])].filter((t) =>
      (l.includes(t) && r.includes(t)) || !b.includes(t)
    );
    assert.deepEqual([...result].sort(), expected.sort());
    assert.equal(new Set(result).size, result.length);
  }));
});
