/**
 * The service as a client sees it: the service in its own process (Postgres mode as
 * deployed, ROLE=all with the WAL listener and Redis; the embedded default with PGlite on
 * disk), this process the client, over HTTP on loopback.
 *
 * - Pull of 10,000 changes from scratch in pages of 1,000 (median of 9, taken in turn with
 *   the baseline), once the scheduled jobs had time to refresh the planner statistics (steady
 *   state), uncompressed (`Accept-Encoding: identity`) and as fetch asks by default (`gzip,
 *   br`: the service answers br, fetch decodes it).
 * - 16 users pushing single changes at once, closed loop (each sends its next push when
 *   the last is answered), and the CPU each push cost the service, Postgres, Redis and this
 *   client (bench/support/cpu_usage.ts): on two cores they share, their sum bounds the rate.
 * - Bytes on the wire for that pull, without Accept-Encoding and with gzip and br:
 *   counted on the socket, before any decoding.
 * - RSS of the service process after 10,000 changes pushed (500 pushes of 20) and at
 *   its peak while pulling those 10,000 from scratch, three times (the first warms up), and the
 *   growth between the last two.
 *
 * Baseline: the bare server (Deno.serve and nothing else, bench/support/server_main.ts)
 * answering pages of the same sizes (as they crossed the wire) and the same concurrent POSTs:
 * the transport's floor.
 */
import { benchMain } from "./support/bench_env.ts";
import { cpuDuring, describeCpu } from "./support/cpu_usage.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { startEmbeddedService, startWalService, UNLIMITED_PRO } from "./support/api_service.ts";
import {
  bytesOnWire,
  pullFromScratch,
  push,
  pushMany,
  QUIET_MS,
  register,
  rssMb,
  sampleRss,
} from "./support/http_client.ts";
import { figure } from "./support/report.ts";
import { type ServerProcess, startServer } from "./support/server_process.ts";
import { int, percentile, sleep, timed } from "./support/stats.ts";

const PULL_CHANGES = 10_000;
const PUSHERS = 16;
const PUSH_SECONDS = 3;
const ENCODINGS = ["identity", "gzip", "br"] as const;
/**
 * The scheduled jobs every 2 s (they refresh planner statistics, which PGlite gets from
 * nowhere else), and how long the pull waits after its 10,000 changes are written: a
 * session's activity counters reach the statistics within ~10 s of going idle, then the
 * next run analyzes. Steady state, as a deployment has it; without it a table just filled
 * is planned without statistics.
 */
const STEADY = { ...UNLIMITED_PRO, JOBS_INTERVAL_SECONDS: "2" };
const SETTLE_MS = 13_000;
/** Rounds of each pull figure and the bare baseline, taken in turn (mediansOf). */
const PULL_ROUNDS = 9;

type Mode = "postgres" | "embedded";

interface Baseline {
  /** ms for GETs of `sizes` one after another, once. */
  pull(sizes: number[]): Promise<number>;
  /** POSTs/s with 16 in flight. */
  pushRate: number;
}

export async function run(): Promise<string[]> {
  const lines = [
    "over HTTP: the service in its own process, this process the client, loopback",
    `  jobs every 2 s; pulls start ${SETTLE_MS / 1000} s after their changes were written, ` +
    "once the jobs analyzed the tables (steady state)",
  ];
  await using bare = await startServer("bare", {});
  const baseline: Baseline = {
    pull: (sizes) => timed(() => barePull(bare.url, sizes)),
    pushRate: (await closedLoop(PUSHERS, PUSH_SECONDS, () => barePost(bare.url))).perSecond,
  };
  lines.push(`  bare server: ${int(baseline.pushRate)} POSTs/s with ${PUSHERS} in flight`);
  {
    await using db = await openBenchDb();
    await using service = await startWalService(db, "error", STEADY);
    lines.push("  postgres (ROLE=all, WAL listener, Redis):");
    lines.push(...await measure("postgres", service, baseline));
  }
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-bench-http-" });
  try {
    await using service = await startEmbeddedService(dataDir, STEADY);
    lines.push("  embedded (PGlite on disk, in-process bus):");
    lines.push(...await measure("embedded", service, baseline));
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  return lines;
}

async function measure(
  mode: Mode,
  service: ServerProcess,
  baseline: Baseline,
): Promise<string[]> {
  const lines: string[] = [`    idle RSS ${(await rssMb(service.pid)).toFixed(0)} MB`];
  const url = service.url;

  const pushers: string[] = [];
  for (let u = 0; u < PUSHERS; u++) pushers.push(await register(url, user(`push-${u}`), "p"));
  let turn = 0;
  const pushOne = () => push(url, pushers[turn++ % PUSHERS]);
  await closedLoop(PUSHERS, 1, pushOne);
  const { value: pushes, used } = await cpuDuring(
    service.pid,
    () => closedLoop(PUSHERS, PUSH_SECONDS, pushOne),
  );
  lines.push(
    figure({
      name: `over HTTP, ${mode}, 16 users pushing single changes`,
      value: pushes.perSecond,
      unit: "/s",
      goal: { op: ">=", value: 1000 },
      baseline: `${(pushes.perSecond / baseline.pushRate).toFixed(2)}x bare HTTP`,
    }),
    `    ${describeCpu(used, pushes.done, "push")}`,
  );

  const reader = await register(url, user("pull"), "reader");
  await pushMany(url, reader, PULL_CHANGES, 500, 1);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const { pages, changes } = await pullFromScratch(url, reader);
  if (changes !== PULL_CHANGES) throw new Error(`Pulled ${changes} of ${PULL_CHANGES} changes`);
  const auth = { authorization: `Bearer ${reader}` };
  const sizes: Record<string, { bytes: number; encodings: Set<string> }> = {};
  const pageSizes: number[] = [];
  for (const accept of ENCODINGS) {
    const sized = { bytes: 0, encodings: new Set<string>() };
    for (const page of pages) {
      const headers = accept === "identity" ? auth : { ...auth, "accept-encoding": accept };
      const got = await bytesOnWire(page, headers);
      if (got.status !== 200) throw new Error(`Raw pull answered ${got.status}`);
      sized.bytes += got.bytes;
      sized.encodings.add(got.encoding);
      if (accept === "identity") pageSizes.push(got.bytes);
    }
    sizes[accept] = sized;
  }
  const [pullMs, compressedPullMs, bareMs] = await mediansOf(PULL_ROUNDS, [
    () => timed(() => pullFromScratch(url, reader, "identity")),
    () => timed(() => pullFromScratch(url, reader)),
    () => baseline.pull(pageSizes),
  ]);
  // What the service answers to fetch's default Accept-Encoding.
  const { encoding: fetchEncoding } = await bytesOnWire(pages[0], {
    ...auth,
    "accept-encoding": "gzip, br",
  });
  const wire = (accept: string) => `${(sizes[accept].bytes / 1024).toFixed(0)} KiB on the wire`;
  lines.push(
    figure({
      name: `over HTTP, ${mode}, pull 10,000 from scratch (pages of 1,000)`,
      value: pullMs,
      unit: "ms",
      goal: { op: "<=", value: 150 },
      baseline: `uncompressed, ${wire("identity")}; ${
        (bareMs / pullMs).toFixed(2)
      }x bare HTTP speed, ${bareMs.toFixed(1)} ms`,
    }),
    figure({
      name: `over HTTP, ${mode}, pull 10,000 from scratch (pages of 1,000), compressed`,
      value: compressedPullMs,
      unit: "ms",
      goal: { op: "<=", value: 150 },
      baseline: `fetch's Accept-Encoding: gzip, br; answered ${fetchEncoding}, ${
        wire(fetchEncoding)
      }`,
    }),
  );
  for (const accept of ENCODINGS) {
    const { bytes, encodings } = sizes[accept];
    const answered = [...encodings].join("+");
    lines.push(figure({
      name: `over HTTP, ${mode}, bytes on the wire for the 10k pull, ${accept}`,
      value: bytes,
      unit: "B",
      baseline: accept === "identity"
        ? "no Accept-Encoding"
        : `${(bytes / sizes.identity.bytes).toFixed(2)}x uncompressed, answered ${answered}`,
    }));
  }

  // Memory: the same work three times, for a user of its own each round; growth between the
  // last two is what stays, read once the service is quiet (QUIET_MS). The first round warms
  // up: PGlite's WebAssembly memory and the caches grow to their working size there once
  // (embedded, four rounds: 204, 212, 207, 208 MB after pushing; Postgres 133, 135, 142, 139).
  const afterPush: number[] = [];
  const pullPeak: number[] = [];
  for (let round = 1; round <= 3; round++) {
    const token = await register(url, user(`mem-${round}`), "mem");
    await pushMany(url, token, PULL_CHANGES, 20, PUSHERS);
    await sleep(QUIET_MS);
    afterPush.push(await rssMb(service.pid));
    const sampler = sampleRss(service.pid, 20);
    await pullFromScratch(url, token);
    pullPeak.push(Math.max(...await sampler.stop()));
  }
  const mb = (values: number[]) => values.map((v) => `${v.toFixed(0)} MB`).join(", ");
  lines.push(
    `    RSS after 10,000 pushed changes (500 pushes of 20), rounds 1 (warm-up) to 3: ` +
      `${mb(afterPush)}; peak while pulling them: ${mb(pullPeak)}`,
    figure({
      name: `${mode} RSS after 10,000 pushed changes`,
      value: afterPush[2],
      unit: "MB",
      baseline: `round 2 ${afterPush[1].toFixed(0)} MB`,
    }),
    figure({
      name: `${mode} RSS after 10,000 pushed changes, growth between rounds`,
      value: afterPush[2] - afterPush[1],
      unit: "MB",
      goal: { op: "<=", value: 10 },
      slack: 10,
    }),
    figure({
      name: `${mode} RSS while pulling 10,000 changes`,
      value: pullPeak[2],
      unit: "MB",
      baseline: `round 2 ${pullPeak[1].toFixed(0)} MB`,
    }),
    figure({
      name: `${mode} RSS while pulling 10,000 changes, growth between rounds`,
      value: pullPeak[2] - pullPeak[1],
      unit: "MB",
      goal: { op: "<=", value: 10 },
      slack: 10,
    }),
  );
  return lines;
}

function user(name: string): string {
  return `http-${name}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Calls completed, and per second, when `clients` call `fn` back to back for `seconds`. */
async function closedLoop(
  clients: number,
  seconds: number,
  fn: () => Promise<unknown>,
): Promise<{ done: number; perSecond: number }> {
  let done = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < until) {
      await fn();
      done++;
    }
  }));
  return { done, perSecond: done / ((performance.now() - start) / 1000) };
}

async function barePull(baseUrl: string, sizes: number[]): Promise<void> {
  for (const n of sizes) {
    const res = await fetch(`${baseUrl}/__bench/bytes?n=${n}`);
    await res.json();
  }
}

async function barePost(baseUrl: string): Promise<void> {
  const res = await fetch(`${baseUrl}/api/sync/data`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ changes: [{ bench: crypto.randomUUID() }] }),
  });
  await res.json();
}

/**
 * The median of each of `measures` over `rounds`, taken in turn within each round: the
 * service's figures and their baseline see the same minutes of a shared machine.
 */
async function mediansOf(
  rounds: number,
  measures: (() => Promise<number>)[],
): Promise<number[]> {
  const values = measures.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, measure] of measures.entries()) values[i].push(await measure());
  }
  return values.map((of) => percentile(of, 50));
}

if (import.meta.main) await benchMain(run);
