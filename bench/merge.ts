/**
 * Cost of one conflict resolution: µs per `fieldMerge` of a 50-field settings object with
 * a realistic mix of one- and two-sided changes, nested objects and a set field, and of
 * `additive`, each beside `timestamp` (which only picks a side) on the same input.
 * @module
 */
import {
  additive,
  fieldMerge,
  type MergeInput,
  type Strategy,
  timestamp,
} from "../conflict/mod.ts";
import { figure } from "./support/report.ts";

const WARMUP = 2_000;
const ITERATIONS = 20_000;
const BATCHES = 20;
const OPTIONS = { setFields: ["tags"], dedupeKey: [] };

/** Runs the benchmark and returns its report, one line per strategy. */
export async function run(): Promise<string[]> {
  const input = settingsConflict();
  const lines = [
    `merge: 50-field settings object, median of ${BATCHES} batches of ${ITERATIONS / BATCHES} ` +
    `after ${WARMUP} warm-up`,
  ];
  const timings: Record<string, number> = {};
  for (
    const [name, strategy] of [["timestamp", timestamp], ["fieldMerge", fieldMerge], [
      "additive",
      additive,
    ]] as const
  ) {
    timings[name] = measure(strategy, input);
    lines.push(`  ${name.padEnd(10)} ${timings[name].toFixed(2)} µs/op`);
    // Yield between runs so a caller's timers and logs are not starved.
    await new Promise((done) => setTimeout(done, 0));
  }
  // `timestamp` only picks a side: the plain baseline a field-wise merge is held to.
  for (const name of ["fieldMerge", "additive"]) {
    lines.push(figure({
      name: `${name} of a 50-field object`,
      value: timings[name],
      unit: "µs",
      goal: { op: "<=", value: 10 },
      baseline: `${(timings[name] / timings.timestamp).toFixed(1)}x the time of timestamp`,
    }));
  }
  return lines;
}

/**
 * µs per call: the median of `BATCHES` timed batches, so a collection or another process's
 * burst that lands in one batch does not move the figure (a shared 2-core machine).
 */
function measure(strategy: Strategy, input: MergeInput): number {
  let sink = 0;
  for (let i = 0; i < WARMUP; i++) sink += strategy(input, OPTIONS).kind.length;
  const perCall: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const start = performance.now();
    for (let i = 0; i < ITERATIONS / BATCHES; i++) sink += strategy(input, OPTIONS).kind.length;
    perCall.push(((performance.now() - start) * 1000 * BATCHES) / ITERATIONS);
  }
  // Using the results keeps the engine from optimising the calls away.
  if (sink === 0) throw new Error("Benchmark produced no outcomes");
  return perCall.sort((a, b) => a - b)[BATCHES >> 1];
}

/**
 * 50 top-level fields: 40 scalars, 5 nested objects of 6 keys, a tag set, 4 lists.
 * Local edits 8 scalars, remote 8 others, both edit 4 more; both sides edit different
 * keys of 3 nested objects and both add and remove tags.
 */
function settingsConflict(): MergeInput {
  const base: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++) {
    base[`key_${i}`] = i % 3 === 0 ? `value ${i}` : i % 3 === 1 ? i * 10 : i % 2 === 0;
  }
  for (let n = 0; n < 5; n++) {
    base[`group_${n}`] = Object.fromEntries(Array.from({ length: 6 }, (_, k) => [`opt_${k}`, k]));
  }
  base.tags = ["work", "dark", "mono", "ssh", "prod"];
  for (let l = 0; l < 4; l++) base[`list_${l}`] = [`a${l}`, `b${l}`, `c${l}`];

  const local = structuredClone(base);
  const remote = structuredClone(base);
  for (let i = 0; i < 8; i++) local[`key_${i}`] = `local ${i}`;
  for (let i = 8; i < 16; i++) remote[`key_${i}`] = `remote ${i}`;
  for (let i = 16; i < 20; i++) {
    local[`key_${i}`] = `local ${i}`;
    remote[`key_${i}`] = `remote ${i}`;
  }
  for (let n = 0; n < 3; n++) {
    (local[`group_${n}`] as Record<string, unknown>).opt_0 = "local";
    (remote[`group_${n}`] as Record<string, unknown>).opt_5 = "remote";
  }
  local.tags = ["work", "dark", "ssh", "prod", "laptop"];
  remote.tags = ["work", "mono", "ssh", "prod", "phone"];
  remote.list_0 = ["a0", "b0", "c0", "d0"];

  return {
    base: { data: base, deleted: false, modified_at: 1_000, device_id: "laptop" },
    local: { data: local, deleted: false, modified_at: 3_000, device_id: "laptop" },
    remote: { data: remote, deleted: false, modified_at: 2_000, device_id: "phone" },
  };
}

if (import.meta.main) console.log((await run()).join("\n"));
