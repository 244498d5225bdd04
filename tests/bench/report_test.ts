import assert from "node:assert/strict";
import { parseArgs } from "../../bench/run.ts";
import { figure, met, summaryTable, takeFigures } from "../../bench/support/report.ts";

Deno.test("a figure prints beside its goal and is collected once", () => {
  takeFigures();
  const line = figure({
    name: "pull",
    value: 184.4,
    unit: "ms",
    goal: { op: "<=", value: 100 },
    baseline: "0.39x plain SQL speed",
  });
  assert.equal(line, "  >> pull: 184 ms (0.39x plain SQL speed) | goal <= 100 ms | NOT met");
  assert.deepEqual(takeFigures().map((f) => f.name), ["pull"]);
  assert.deepEqual(takeFigures(), []);
});

Deno.test("met compares in the goal's direction; no goal or no value is neither", () => {
  assert.equal(met({ name: "a", value: 1000, unit: "/s", goal: { op: ">=", value: 1000 } }), true);
  assert.equal(met({ name: "a", value: 999, unit: "/s", goal: { op: ">=", value: 1000 } }), false);
  assert.equal(met({ name: "a", value: 5, unit: "ms", goal: { op: "<=", value: 5 } }), true);
  assert.equal(met({ name: "a", value: NaN, unit: "ms", goal: { op: "<=", value: 5 } }), null);
  assert.equal(met({ name: "a", value: 5, unit: "B" }), null);
});

Deno.test("the summary of two runs says whether each figure repeated within 10 %", () => {
  const goal = { op: "<=" as const, value: 150 };
  const rows = summaryTable([
    [
      { name: "pull", value: 100, unit: "ms", goal },
      { name: "growth", value: 2, unit: "MB", goal: { op: "<=", value: 10 }, slack: 10 },
    ],
    [
      { name: "pull", value: 112, unit: "ms", goal },
      { name: "growth", value: 9, unit: "MB", goal: { op: "<=", value: 10 }, slack: 10 },
    ],
  ]);
  assert.match(rows[0], /^\| figure +\| run 1 +\| run 2 +\| within 10%\? \| goal +\| met\? +\|$/);
  assert.deepEqual(rows[2].split("|").map((c) => c.trim()).filter(Boolean), [
    "pull",
    "100 ms",
    "112 ms",
    "NO",
    "<= 150 ms",
    "met / met",
  ]);
  // 2 → 9 MB is far from 10 %, but within the figure's slack.
  assert.equal(rows[3].split("|")[4].trim(), "yes");
});

Deno.test("bench arguments: --only names known benchmarks, --repeat a count, `--` is skipped", () => {
  assert.deepEqual(parseArgs(["--", "--only", "merge,over_http", "--repeat", "2"]), {
    only: ["merge", "over_http"],
    repeat: 2,
  });
  assert.deepEqual(parseArgs(["--only=mixed_memory"]).only, ["mixed_memory"]);
  assert.equal(parseArgs([]).repeat, 1);
  assert.throws(() => parseArgs(["--only", "nope"]), /Unknown benchmark nope: choose from merge/);
  assert.throws(() => parseArgs(["--repeat", "0"]), /Usage/);
});
