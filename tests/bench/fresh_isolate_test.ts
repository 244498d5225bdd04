import assert from "node:assert/strict";
import { inFreshIsolate } from "../../bench/support/fresh_isolate.ts";
import { takeFigures } from "../../bench/support/report.ts";

const REPORT = new URL("../../bench/support/report.ts", import.meta.url).href;

/** A benchmark module as a data: URL; its body runs inside `run()`. */
function benchModule(body: string): URL {
  const source = `import { figure } from ${JSON.stringify(REPORT)};
    export async function run() { ${body} }`;
  return new URL(`data:application/typescript,${encodeURIComponent(source)}`);
}

Deno.test("a benchmark in a fresh isolate starts from nothing each run, and its figures reach this isolate", async () => {
  takeFigures();
  // A global the module counts its runs on: 1 every time only if each run has its own isolate.
  const bench = inFreshIsolate(benchModule(`
    globalThis.runs = (globalThis.runs ?? 0) + 1;
    return [figure({ name: "runs", value: globalThis.runs, unit: "x", goal: { op: "<=", value: 1 } })];`));
  const first = await bench.run();
  const second = await bench.run();
  assert.deepEqual(first, ["  >> runs: 1.00x | goal <= 1.00x | met"]);
  assert.deepEqual(second, first);
  assert.deepEqual(takeFigures().map((f) => [f.name, f.value]), [["runs", 1], ["runs", 1]]);
});

Deno.test("a benchmark that fails in its isolate fails the run with its error", async () => {
  const bench = inFreshIsolate(benchModule(`throw new Error("seeding failed");`));
  await assert.rejects(bench.run(), /seeding failed/);
  assert.deepEqual(takeFigures(), []);
});
