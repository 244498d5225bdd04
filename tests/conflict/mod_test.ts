import assert from "node:assert/strict";
import {
  isStrategyName,
  type MergeInput,
  type Outcome,
  resolve,
  STRATEGIES,
  STRATEGY_NAMES,
  type StrategyName,
  UnknownStrategyError,
  type Version,
} from "../../conflict/mod.ts";
import { live, OPTIONS, tombstone } from "./arbitraries.ts";

type Kind = "both_updated" | "delete_vs_update" | "update_vs_delete" | "both_deleted";
type Expected = "take_local" | "keep_remote" | "manual" | { merged: Record<string, unknown> };
/** The expected outcome when the local side wrote later, and when the remote side did. */
type Cell = { localLater: Expected; remoteLater: Expected };

const BASE = live({ name: "db", port: 22, notes: "n", tags: ["prod"] }, 1);
const LOCAL = { name: "db-l", port: 22, notes: "from l", tags: ["prod", "l"] };
const REMOTE = { name: "db", port: 2222, notes: "from r", tags: ["prod", "r"] };
const MERGED_LOCAL_LATER = { name: "db-l", port: 2222, notes: "from l", tags: ["prod", "l", "r"] };
const MERGED_REMOTE_LATER = { name: "db-l", port: 2222, notes: "from r", tags: ["prod", "r", "l"] };

const same = (expected: Expected): Cell => ({ localLater: expected, remoteLater: expected });
const later: Cell = { localLater: "take_local", remoteLater: "keep_remote" };

/** Strategy × conflict kind: a strategy or kind without a row fails `deno check`. */
const TABLE: Record<StrategyName, Record<Kind, Cell>> = {
  local_priority: {
    both_updated: same("take_local"),
    delete_vs_update: same("take_local"),
    update_vs_delete: same("take_local"),
    both_deleted: same("keep_remote"),
  },
  remote_priority: {
    both_updated: same("keep_remote"),
    delete_vs_update: same("keep_remote"),
    update_vs_delete: same("keep_remote"),
    both_deleted: same("keep_remote"),
  },
  timestamp: {
    both_updated: later,
    delete_vs_update: later,
    update_vs_delete: later,
    both_deleted: same("keep_remote"),
  },
  field_merge: {
    both_updated: {
      localLater: { merged: MERGED_LOCAL_LATER },
      remoteLater: { merged: MERGED_REMOTE_LATER },
    },
    delete_vs_update: later,
    update_vs_delete: later,
    both_deleted: same("keep_remote"),
  },
  additive: {
    both_updated: {
      localLater: { merged: MERGED_LOCAL_LATER },
      remoteLater: { merged: MERGED_REMOTE_LATER },
    },
    delete_vs_update: same("take_local"),
    update_vs_delete: same("keep_remote"),
    both_deleted: same("keep_remote"),
  },
  manual: {
    both_updated: same("manual"),
    delete_vs_update: same("manual"),
    update_vs_delete: same("manual"),
    both_deleted: same("keep_remote"),
  },
};

const SIDES: Record<Kind, { local: (t: number) => Version; remote: (t: number) => Version }> = {
  both_updated: { local: (t) => live(LOCAL, t, "dev-l"), remote: (t) => live(REMOTE, t, "dev-r") },
  delete_vs_update: {
    local: (t) => tombstone(t, "dev-l"),
    remote: (t) => live(REMOTE, t, "dev-r"),
  },
  update_vs_delete: { local: (t) => live(LOCAL, t, "dev-l"), remote: (t) => tombstone(t, "dev-r") },
  both_deleted: { local: (t) => tombstone(t, "dev-l"), remote: (t) => tombstone(t, "dev-r") },
};

function expectedOutcome(expected: Expected): Outcome {
  if (typeof expected === "string") return { kind: expected };
  return { kind: "merged", data: expected.merged, deleted: false, modified_at: 3 };
}

Deno.test("every strategy answers every conflict kind as the table says", () => {
  for (const name of STRATEGY_NAMES) {
    for (const [kind, sides] of Object.entries(SIDES) as [Kind, (typeof SIDES)[Kind]][]) {
      const cell = TABLE[name][kind];
      const cases: [keyof Cell, MergeInput][] = [
        ["localLater", { base: BASE, local: sides.local(3), remote: sides.remote(2) }],
        ["remoteLater", { base: BASE, local: sides.local(2), remote: sides.remote(3) }],
      ];
      for (const [order, input] of cases) {
        const expected = expectedOutcome(cell[order]);
        const message = `${name} × ${kind} × ${order}`;
        assert.deepEqual(STRATEGIES[name](input, OPTIONS), expected, message);
        assert.deepEqual(resolve(name, input, OPTIONS), expected, message);
      }
    }
  }
});

Deno.test("STRATEGY_NAMES lists every strategy of the contract once", () => {
  assert.deepEqual([...STRATEGY_NAMES].sort(), [
    "additive",
    "field_merge",
    "local_priority",
    "manual",
    "remote_priority",
    "timestamp",
  ]);
});

Deno.test("isStrategyName() accepts only the wire names", () => {
  for (const name of STRATEGY_NAMES) assert.ok(isStrategyName(name));
  for (const value of ["", "Timestamp", "toString", "__proto__", "hasOwnProperty", 1, null, {}]) {
    assert.equal(isStrategyName(value), false, String(value));
  }
});

Deno.test("resolve() throws UnknownStrategyError naming a bad strategy", () => {
  const input = { base: null, local: live({}), remote: live({}) };
  assert.throws(
    () => resolve("newest_wins" as StrategyName, input, OPTIONS),
    (error: unknown) =>
      error instanceof UnknownStrategyError && error.strategy === "newest_wins" &&
      error.message.includes('"newest_wins"'),
  );
});
