import assert from "node:assert/strict";
import fc from "fast-check";
import { additive, applyOutcome, canonicalJson, sameContent } from "../../conflict/mod.ts";
import {
  assertSymmetric,
  commandInput,
  inputs,
  live,
  OPTIONS,
  runPure,
  stored,
  tombstone,
} from "./arbitraries.ts";

const COMMANDS = { setFields: [], dedupeKey: ["command", "session_id"] };

Deno.test("additive() unions list entries from both sides without duplicates", () => {
  const outcome = additive({
    base: live({ tags: ["a", "b"] }, 1),
    local: live({ tags: ["a", "c"] }, 2),
    remote: live({ tags: ["b", "d", "a"] }, 3),
  }, OPTIONS);
  assert.deepEqual(outcome, {
    kind: "merged",
    data: { tags: ["b", "d", "a", "c"] },
    deleted: false,
    modified_at: 3,
  });
});

Deno.test("additive() unions every list, not only setFields, objects by canonical JSON", () => {
  const outcome = additive({
    base: null,
    local: live({ templates: [{ name: "fix", prompt: "p" }, { name: "doc", prompt: "q" }] }, 1),
    remote: live({ templates: [{ prompt: "p", name: "fix" }, { name: "new", prompt: "r" }] }, 2),
  }, { setFields: [], dedupeKey: [] });
  assert.deepEqual(outcome, {
    kind: "merged",
    data: {
      templates: [{ prompt: "p", name: "fix" }, { name: "new", prompt: "r" }, {
        name: "doc",
        prompt: "q",
      }],
    },
    deleted: false,
    modified_at: 2,
  });
});

Deno.test("additive() keeps a removal made on one side only", () => {
  const base = live({ tags: ["a", "b"] }, 1);
  const local = live({ tags: ["a"] }, 2);
  assert.deepEqual(additive({ base, local, remote: base }, OPTIONS), { kind: "take_local" });
});

Deno.test("additive() merges a command recorded on two devices as one entry", () => {
  const base = live({ command: "make", session_id: "s1", started_at: 10 }, 1);
  const local = live({ command: "make", session_id: "s1", started_at: 10, exit_code: 2 }, 2);
  const remote = live({ command: "make", session_id: "s1", started_at: 10, duration_ms: 900 }, 3);
  assert.deepEqual(additive({ base, local, remote }, COMMANDS), {
    kind: "merged",
    data: { command: "make", session_id: "s1", started_at: 10, exit_code: 2, duration_ms: 900 },
    deleted: false,
    modified_at: 3,
  });
});

Deno.test("additive() keeps the later version whole when dedupe keys differ", () => {
  const base = live({ command: "ls", session_id: "s1" }, 1);
  const local = live({ command: "ls -la", session_id: "s1", cwd: "/l" }, 3);
  const remote = live({ command: "ls -l", session_id: "s1", host: "h" }, 2);
  assert.deepEqual(additive({ base, local, remote }, COMMANDS), { kind: "take_local" });
  assert.deepEqual(additive({ base, local: remote, remote: local }, COMMANDS), {
    kind: "keep_remote",
  });
});

Deno.test("additive() treats list records with equal dedupe keys as one entry", () => {
  const outcome = additive({
    base: null,
    local: live({ recent: [{ command: "ls", session_id: "s", exit_code: 0 }] }, 2),
    remote: live({
      recent: [{ command: "ls", session_id: "s", cwd: "/" }, { command: "pwd", session_id: "s" }],
    }, 1),
  }, COMMANDS);
  assert.deepEqual(outcome, {
    kind: "merged",
    data: {
      recent: [{ command: "ls", session_id: "s", exit_code: 0, cwd: "/" }, {
        command: "pwd",
        session_id: "s",
      }],
    },
    deleted: false,
    modified_at: 2,
  });
});

Deno.test("additive() gives scalars both sides changed to the later writer", () => {
  const base = live({ shell: "bash", tags: [] }, 1);
  const local = live({ shell: "zsh", tags: ["l"] }, 1, "dev-a");
  const remote = live({ shell: "fish", tags: ["r"] }, 1, "dev-b");
  assert.deepEqual(additive({ base, local, remote }, OPTIONS), {
    kind: "merged",
    data: { shell: "fish", tags: ["r", "l"] },
    deleted: false,
    modified_at: 1,
  });
});

Deno.test("additive() lets a delete beat a concurrent update, whatever the clocks", () => {
  const base = live({ command: "ls", session_id: "s" }, 1);
  const updated = live({ command: "ls", session_id: "s", exit_code: 0 }, 9);
  assert.deepEqual(additive({ base, local: tombstone(2), remote: updated }, COMMANDS), {
    kind: "take_local",
  });
  assert.deepEqual(additive({ base, local: updated, remote: tombstone(2) }, COMMANDS), {
    kind: "keep_remote",
  });
});

Deno.test("additive() takes a re-creation over an unchanged tombstone", () => {
  const recreated = live({ command: "ls", session_id: "s" }, 5);
  assert.deepEqual(
    additive({ base: tombstone(1), local: recreated, remote: tombstone(1) }, COMMANDS),
    {
      kind: "take_local",
    },
  );
});

Deno.test("additive() keeps remote when both deleted", () => {
  assert.deepEqual(
    additive({ base: live({}), local: tombstone(3), remote: tombstone(4) }, COMMANDS),
    {
      kind: "keep_remote",
    },
  );
});

Deno.test("additive() is deterministic and needs no clock or randomness", () => {
  fc.assert(fc.property(inputs, (input) => {
    assert.equal(
      canonicalJson(runPure(additive, input)),
      canonicalJson(runPure(additive, structuredClone(input))),
    );
  }));
});

Deno.test("additive() is commutative: swapping local and remote stores the same data", () => {
  assertSymmetric(additive, { arbitrary: inputs, options: OPTIONS });
  assertSymmetric(additive, { arbitrary: commandInput, options: COMMANDS });
});

Deno.test("additive() is idempotent: equal sides keep remote", () => {
  fc.assert(fc.property(inputs, fc.nat(), (input, skew) => {
    const copy = { ...structuredClone(input.local), modified_at: skew };
    assert.deepEqual(additive({ ...input, remote: copy }, OPTIONS), { kind: "keep_remote" });
  }));
});

Deno.test("additive() never loses a one-sided change", () => {
  fc.assert(fc.property(inputs, (input) => {
    if (!input.base) return;
    if (sameContent(input.local, input.base)) {
      assert.equal(stored(input, additive(input, OPTIONS)), stored(input, { kind: "keep_remote" }));
    }
    if (sameContent(input.remote, input.base)) {
      assert.equal(stored(input, additive(input, OPTIONS)), stored(input, { kind: "take_local" }));
    }
  }));
});

Deno.test("additive() keeps every entry either side has, once", () => {
  const list = fc.array(fc.constantFrom("a", "b", "c", "d", "e"), { maxLength: 6 });
  fc.assert(fc.property(list, list, list, fc.nat(3), fc.nat(3), (b, l, r, tl, tr) => {
    const input = {
      base: live({ tags: b }),
      local: live({ tags: l }, tl, "x"),
      remote: live({ tags: r }, tr, "y"),
    };
    const result = applyOutcome(input, additive(input, OPTIONS)).data?.tags as string[];
    const changedBoth = canonicalJson(l) !== canonicalJson(b) &&
      canonicalJson(r) !== canonicalJson(b);
    // Both sides equal is no conflict: the stored list stays as it is, duplicates and all
    // (no needless writes), so the union is only promised when the sides differ.
    if (!changedBoth || canonicalJson(l) === canonicalJson(r)) return;
    assert.deepEqual([...result].sort(), [...new Set([...l, ...r])].sort());
  }));
});

Deno.test("additive() never returns a merged copy of either side, and stamps the later time", () => {
  fc.assert(fc.property(inputs, (input) => {
    const outcome = additive(input, OPTIONS);
    if (outcome.kind !== "merged") return;
    const result = { data: outcome.data, deleted: outcome.deleted };
    assert.ok(!sameContent(result, input.local) && !sameContent(result, input.remote));
    assert.equal(outcome.modified_at, Math.max(input.local.modified_at, input.remote.modified_at));
  }));
});
