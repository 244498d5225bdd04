/**
 * `deno task bench`: every benchmark, on a throwaway Postgres (wal_level=logical) unless
 * TEST_DATABASE_URL names one, and on TEST_REDIS_URL, else Redis at 127.0.0.1:6379 if it
 * answers, else a throwaway redis-server. Prints figures and their ratios to plain baselines,
 * then a summary table of the issue's figures beside their goals.
 *
 * - `--only merge,over_http`: just those benchmarks (file names in bench/, no `.ts`).
 * - `--repeat 2`: everything twice; the summary shows both values of every figure and
 *   whether they are within 10 % of each other.
 */
import { cleanUpOnInterrupt } from "../tests/support/cluster.ts";
import { startBenchServices } from "./support/bench_env.ts";
import { inFreshIsolate } from "./support/fresh_isolate.ts";
import { type Figure, summaryTable, takeFigures } from "./support/report.ts";

type Bench = { run(): Promise<string[]> };

const BENCHES: Record<string, () => Promise<Bench>> = {
  // CPU micro-benchmarks: measured in a fresh isolate, whatever ran before them.
  merge: () => Promise.resolve(inFreshIsolate(new URL("./merge.ts", import.meta.url))),
  privacy_filter: () =>
    Promise.resolve(inFreshIsolate(new URL("./privacy_filter.ts", import.meta.url))),
  push_pull: () => import("./push_pull.ts"),
  pull_at_head: () => import("./pull_at_head.ts"),
  hello_at_head: () => import("./hello_at_head.ts"),
  conflicts: () => import("./conflicts.ts"),
  embedded_push: () => import("./embedded_push.ts"),
  over_http: () => import("./over_http.ts"),
  realtime_latency: () => import("./realtime_latency.ts"),
  wal_throughput: () => import("./wal_throughput.ts"),
  idle_sockets: () => import("./idle_sockets.ts"),
  fan_out: () => import("./fan_out.ts"),
  client_sync: () => import("./client_sync.ts"),
  mixed_memory: () => import("./mixed_memory.ts"),
  redaction: () => import("./redaction.ts"),
};

/** `--only a,b` and `--repeat n` (also `--only=a,b`); a bare `--` from `deno task` is skipped. */
export function parseArgs(args: readonly string[]): { only: string[]; repeat: number } {
  let only = Object.keys(BENCHES);
  let repeat = 1;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2);
    if (flag === "--") continue;
    const value = inline ?? args[++i];
    if (flag === "--only" && value) {
      only = value.split(",").map((s) => s.trim()).filter(Boolean);
      const unknown = only.filter((name) => !(name in BENCHES));
      if (unknown.length > 0) {
        throw new Error(
          `Unknown benchmark ${unknown.join(", ")}: choose from ${Object.keys(BENCHES).join(", ")}`,
        );
      }
    } else if (flag === "--repeat" && /^[1-9]$/.test(value ?? "")) {
      repeat = Number(value);
    } else {
      throw new Error(
        `Usage: deno task bench [-- --only name,name] [--repeat 1-9]: got ${args[i]}`,
      );
    }
  }
  return { only, repeat };
}

if (import.meta.main) {
  const { only, repeat } = parseArgs(Deno.args);
  const started = await startBenchServices();
  const stopServices = async () => {
    for (const service of started.splice(0).reverse()) await service.stop?.();
  };
  cleanUpOnInterrupt(stopServices);
  const rounds: Figure[][] = [];
  const began = performance.now();
  try {
    for (let round = 1; round <= repeat; round++) {
      if (repeat > 1) console.log(`=== run ${round} of ${repeat} ===\n`);
      for (const name of only) {
        const bench = await BENCHES[name]();
        const start = performance.now();
        const lines = await bench.run();
        const seconds = ((performance.now() - start) / 1000).toFixed(0);
        console.log(`${lines.join("\n")}\n  (${name}: ${seconds} s)\n`);
      }
      rounds.push(takeFigures());
    }
  } finally {
    await stopServices();
  }
  const minutes = (performance.now() - began) / 60_000;
  console.log(
    `summary: the issue's figures, ${repeat > 1 ? `${repeat} runs, ` : ""}` +
      `${minutes.toFixed(1)} min in all (absolute figures depend on the machine and its load)`,
  );
  console.log(summaryTable(rounds).join("\n"));
}
