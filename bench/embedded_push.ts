/**
 * The embedded default (PGlite on disk, in-process bus) as a device sees it: the service
 * in its own process, pushes of one change over HTTP on loopback from this process.
 *
 * - Latency at 10 pushes/s, open loop (sent on schedule, not after the previous answer).
 * - Sustained pushes/s before queueing: the offered rate (16 devices, round-robin) doubles
 *   from 25/s until the service falls behind, then three bisections narrow the edge; the
 *   figure is the highest rate it kept up with, i.e. answered at least 95 % of the offered
 *   rate with p50 ≤ 20 ms and p99 ≤ 100 ms. Past it, pushes queue.
 *
 * Baseline: single-row inserts with plain SQL into a PGlite on disk in this process, the
 * same commit per change without HTTP, validation or the sync protocol.
 */
import { migrate } from "../db/migrate.ts";
import { openPgliteDriver } from "../db/pglite_driver.ts";
import { command } from "../tests/support/changes.ts";
import { startEmbeddedService, UNLIMITED_PRO } from "./support/api_service.ts";
import { benchMain } from "./support/bench_env.ts";
import { register } from "./support/http_client.ts";
import { figure } from "./support/report.ts";
import { int, openLoop, percentile } from "./support/stats.ts";

/**
 * 30 s: a p99 of 100 pushes is their second slowest, one stall of the shared machine, and
 * read 13.3 to 28.5 ms between runs of the same code; of 300 it is their fourth slowest.
 */
const LOW_RATE = { perSecond: 10, seconds: 30 };
const FIRST_STEP = 25;
const LAST_STEP = 3200;
/**
 * Three: the edge falls between 800 and 1,600/s on this machine, and two bisections gave
 * only 800, 1,000 or 1,200 (steps of a fifth or more) for runs a few percent apart.
 */
const BISECTIONS = 3;
const STEP_SECONDS = 2;
const DEVICES = 16;
/** Past this many unanswered pushes the sender holds back (the achieved rate then falls). */
const MAX_IN_FLIGHT = 64;
const BOUNDED_P99_MS = 100;
/**
 * A standing queue shows in the median: capped at MAX_IN_FLIGHT unanswered pushes, a service
 * past its rate answers each after the 64 ahead of it (p50 40-60 ms at 1,200-1,600/s), which
 * the p99 bound alone let pass. Kept up with, p50 is 1.5-5 ms.
 */
const BOUNDED_P50_MS = 20;

interface RateResult {
  offered: number;
  achieved: number;
  latencies: number[];
  failed: number;
}

export async function run(): Promise<string[]> {
  const lines = ["embedded push: PGlite on disk, service in its own process, one change per push"];
  const plain = await plainBaseline();
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-bench-embedded-" });
  try {
    await using service = await startEmbeddedService(dataDir, UNLIMITED_PRO);
    const tokens: string[] = [];
    for (let d = 0; d < DEVICES; d++) {
      tokens.push(await register(service.url, `emb-${d}-${crypto.randomUUID().slice(0, 8)}`, "p"));
    }
    // Warm-up: JIT, the database's caches and the HTTP connections; not recorded.
    await atRate(service.url, tokens, 100, 1);

    const low = await atRate(service.url, tokens.slice(0, 1), LOW_RATE.perSecond, LOW_RATE.seconds);
    const p50 = percentile(low.latencies, 50);
    const p99 = percentile(low.latencies, 99);
    lines.push(
      `  ${LOW_RATE.perSecond} pushes/s for ${LOW_RATE.seconds} s (n=${low.latencies.length}, ` +
        `${low.failed} failed); plain SQL insert p50 ${plain.p50.toFixed(2)} ms, ` +
        `p99 ${plain.p99.toFixed(2)} ms`,
      figure({
        name: "embedded, 10 pushes/s, p50",
        value: p50,
        unit: "ms",
        goal: { op: "<=", value: 5 },
        baseline: `${(plain.p50 / p50).toFixed(2)}x plain SQL speed`,
      }),
      figure({
        name: "embedded, 10 pushes/s, p99",
        value: p99,
        unit: "ms",
        goal: { op: "<=", value: 15 },
        baseline: `${(plain.p99 / p99).toFixed(2)}x plain SQL speed`,
      }),
    );

    const keepsUp = async (offered: number) => {
      const r = await atRate(service.url, tokens, offered, STEP_SECONDS);
      const stepP50 = percentile(r.latencies, 50);
      const stepP99 = percentile(r.latencies, 99);
      const bounded = r.failed === 0 && r.achieved >= 0.95 * offered &&
        stepP50 <= BOUNDED_P50_MS && stepP99 <= BOUNDED_P99_MS;
      lines.push(
        `  offered ${String(offered).padStart(4)}/s: achieved ${int(r.achieved)}/s, ` +
          `p50 ${stepP50.toFixed(1)} ms, p99 ${stepP99.toFixed(1)} ms` +
          `${r.failed ? `, ${r.failed} failed` : ""}${bounded ? "" : "  <- queueing"}`,
      );
      return bounded;
    };
    let sustained = 0;
    let queued = LAST_STEP * 2;
    for (let offered = FIRST_STEP; offered <= LAST_STEP; offered *= 2) {
      if (!(await keepsUp(offered))) {
        queued = offered;
        break;
      }
      sustained = offered;
    }
    for (let i = 0; i < BISECTIONS && sustained > 0 && queued <= LAST_STEP; i++) {
      const middle = Math.round((sustained + queued) / 2);
      if (await keepsUp(middle)) sustained = middle;
      else queued = middle;
    }
    lines.push(
      `  plain SQL: ${int(plain.perSecond)} single-row inserts/s, one after another`,
      figure({
        name: "embedded, sustained pushes/s before queueing",
        value: sustained,
        unit: "/s",
        goal: { op: ">=", value: 1000 },
        baseline: `${(sustained / plain.perSecond).toFixed(2)}x plain SQL inserts/s`,
      }),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  return lines;
}

/** Pushes sent on schedule at `perSecond`, round-robin over `tokens`, each timed to its answer. */
async function atRate(
  baseUrl: string,
  tokens: string[],
  perSecond: number,
  seconds: number,
): Promise<RateResult> {
  const latencies: number[] = [];
  let failed = 0;
  const send = async (i: number) => {
    const sentAt = performance.now();
    try {
      const res = await fetch(`${baseUrl}/api/sync/data`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${tokens[i % tokens.length]}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ changes: [command(`bench ${i} ${crypto.randomUUID()}`)] }),
      });
      await res.body?.cancel();
      if (res.status !== 200) failed++;
      else latencies.push(performance.now() - sentAt);
    } catch {
      failed++;
    }
  };
  const { elapsedMs } = await openLoop(perSecond, seconds, MAX_IN_FLIGHT, send);
  return { offered: perSecond, achieved: latencies.length / (elapsedMs / 1000), latencies, failed };
}

/** Single-row inserts, one after another, into a migrated PGlite on disk in this process. */
async function plainBaseline(): Promise<{ p50: number; p99: number; perSecond: number }> {
  const dir = await Deno.makeTempDir({ prefix: "devpocket-bench-plain-" });
  const driver = await openPgliteDriver(`${dir}/pgdata`);
  try {
    await migrate(driver);
    let seq = 0;
    const insert = async () => {
      const c = command(`plain ${crypto.randomUUID()}`);
      const start = performance.now();
      await driver.query(
        "insert into items (user_id, collection, id, version, data, modified_at, change_id, seq) " +
          "values ($1, $2, $3, 1, $4, $5, $6, $7)",
        ["plain", c.collection, c.id, c.data, c.modified_at, c.change_id, ++seq],
      );
      return performance.now() - start;
    };
    for (let i = 0; i < 200; i++) await insert();
    const latencies: number[] = [];
    const start = performance.now();
    while (performance.now() - start < 2_000) latencies.push(await insert());
    return {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      perSecond: latencies.length / ((performance.now() - start) / 1000),
    };
  } finally {
    await driver.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await benchMain(run);
