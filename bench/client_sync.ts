/**
 * The client end to end under load: 100 simulated devices (10 users x 10 devices) typing,
 * editing and deleting through SyncClient against the service in its own process
 * (Postgres + WAL listener + Redis), until every device's store equals a fresh full pull,
 * at a busy-day load and at more than the service keeps up with. Figures: changes per
 * second end to end (answered, first action to convergence) and the time to converge after
 * the last change. Baseline: as many changes pushed by the same devices as bare HTTP
 * requests (one change each, no pulls, no sockets).
 */
import { formatReport, runSimulation } from "../simulator/simulation.ts";
import { tokenMinter } from "../simulator/target.ts";
import { command } from "../tests/support/changes.ts";
import { BENCH_SECRET, startWalService } from "./support/api_service.ts";
import { benchMain } from "./support/bench_env.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { int, pool, ratio } from "./support/stats.ts";

const USERS = 10;
const DEVICES = 10;
const SECONDS = 10;
/** Actions per device per second: a busy day, then more than the service keeps up with. */
const LOADS = [3, 10];

export async function run(): Promise<string[]> {
  await using db = await openBenchDb();
  await using server = await startWalService(db);
  const mint = tokenMinter(BENCH_SECRET);
  const lines = [
    `client end to end: ${USERS * DEVICES} devices (${USERS} users x ${DEVICES}) typing, editing ` +
    `and deleting for ${SECONDS} s through SyncClient (HTTP + WebSocket); service in its own ` +
    "process on Postgres + WAL listener + Redis",
  ];
  let answered = 0;
  let best = 0;
  for (const perDevice of LOADS) {
    const report = await runSimulation({
      target: {
        baseUrl: server.url,
        describe: "bench server",
        accountToken: mint,
        [Symbol.asyncDispose]: () => Promise.resolve(),
      },
      users: USERS,
      devices: DEVICES,
      durationMs: SECONDS * 1000,
      actionsPerSecond: perDevice,
      offlineRate: 0,
      restartRate: 0,
      manualConflicts: false,
      seed: 42,
    });
    if (!report.converged) throw new Error(`Not converged:\n${formatReport(report).join("\n")}`);
    answered = Math.max(answered, Object.values(report.statuses).reduce((sum, n) => sum + n, 0));
    best = Math.max(best, report.changesPerSecond);
    lines.push(
      `  offered ${USERS * DEVICES * perDevice}/s: ${
        int(report.changesPerSecond)
      } changes/s end to end, ` +
        `converged ${report.convergedAfterMs} ms after the last change (${
          int(report.items)
        } items)`,
    );
  }
  const bareRate = await barePushRate(server.url, mint, answered);
  lines.push(
    `  bare push ${int(bareRate)} changes/s: the same devices, one change per request, ` +
      "no pulls, no sockets",
    `  ratio     ${ratio(best / bareRate)} (best end-to-end rate / bare pushes; the client ` +
      "batches what queues while a push is on its way)",
  );
  return lines;
}

/** Changes per second when the same devices push `count` changes as bare requests, 100 at a time. */
async function barePushRate(
  baseUrl: string,
  mint: ReturnType<typeof tokenMinter>,
  count: number,
): Promise<number> {
  const tokens: string[] = [];
  for (let u = 0; u < USERS; u++) {
    const accountToken = await mint(`bare-${u}-${crypto.randomUUID().slice(0, 8)}`);
    for (let d = 0; d < DEVICES; d++) {
      const res = await fetch(`${baseUrl}/api/devices/register`, {
        method: "POST",
        headers: { authorization: `Bearer ${accountToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name: `bare ${d}`, platform: "ios" }),
      });
      tokens.push((await res.json()).token);
    }
  }
  const start = performance.now();
  await pool(Array.from({ length: count }, (_, i) => i), USERS * DEVICES, async (i) => {
    const res = await fetch(`${baseUrl}/api/sync/data`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${tokens[i % tokens.length]}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ changes: [command(`bare ${i} ${crypto.randomUUID()}`)] }),
    });
    if (res.status !== 200) throw new Error(`Bare push failed: ${res.status} ${await res.text()}`);
    await res.body?.cancel();
  });
  return count / ((performance.now() - start) / 1000);
}

if (import.meta.main) await benchMain(run);
