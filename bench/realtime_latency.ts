/**
 * Push → `sync_data_available` latency on another device of the same user, through the
 * whole pipeline: HTTP push → Postgres commit → WAL (pgoutput) → ReplicationListener →
 * Redis → Hub → WebSocket, with the server in its own process on 127.0.0.1. Measured from
 * just before the push request is sent to the arrival of the first notification whose
 * cursor is at least the push's cursor. Pushes are sent open-loop at a fixed rate (one
 * small change each, round-robin over USERS users), each rate for a bounded time.
 * The embedded mode (PGlite, in-process bus, notifier after commit) is run the same way.
 */
import { decodeCursor } from "../sync/cursor.ts";
import { WS_PROTOCOL } from "../sync/ws/messages.ts";
import { command } from "../tests/support/changes.ts";
import { BENCH_SECRET, startWalService } from "./support/api_service.ts";
import { benchMain } from "./support/bench_env.ts";
import { cpuDuring, describeCpu } from "./support/cpu_usage.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { register } from "./support/http_client.ts";
import { figure } from "./support/report.ts";
import { type ServerProcess, startServer } from "./support/server_process.ts";
import { int, openLoop, percentile, waitFor } from "./support/stats.ts";

const RATES = [
  { perSecond: 10, seconds: 3 },
  { perSecond: 100, seconds: 3 },
  { perSecond: 300, seconds: 3 },
  { perSecond: 1000, seconds: 3 },
];
/**
 * The rate whose CPU per push is printed: at the lower ones the processes' idle work (timers,
 * jobs, Redis's own cron) is a large share of what each push seems to cost.
 */
const TOP_RATE = RATES.at(-1)!.perSecond;
const USERS = 10;
/** Pushes awaiting their response before the sender holds back (the rate then falls short). */
const MAX_IN_FLIGHT = 256;

interface User {
  pusher: string;
  notifications: Array<{ seq: number; at: number }>;
  socket: WebSocket;
}

interface Push {
  user: User;
  sentAt: number;
  answeredAt: number;
  seq: number | null;
}

interface RateResult {
  target: number;
  achieved: number;
  latencies: number[];
  /** Push request → response, for the same pushes. */
  answered: number[];
  missing: number;
  failed: number;
  /** At TOP_RATE, the CPU the pushes cost, by process (bench/support/cpu_usage.ts). */
  cpu: string | null;
}

export async function run(): Promise<string[]> {
  const lines = [
    `realtime latency: push -> sync_data_available on another device, ${USERS} users, ` +
    "one change per push, server in its own process",
  ];
  {
    await using db = await openBenchDb();
    await using server = await startWalService(db, "warn");
    lines.push("  postgres + WAL listener + Redis:");
    const results = await measure(server);
    const floor = await plainFloor(db.url);
    lines.push(
      ...report(results),
      `    the floor: a plain server (bench/support/server_main.ts \`plain\`: a lookup and one ` +
        `write statement a push, no notification) at ${TOP_RATE}/s: achieved ` +
        `${int(floor.achieved)}/s, answered p50 ${ms(floor.p50)} p99 ${ms(floor.p99)}` +
        `\n          ${floor.cpu}`,
      ...figures(results.find((r) => r.target === TOP_RATE)!, floor),
    );
  }
  {
    await using server = await startServer("service", {
      JWT_SECRET: BENCH_SECRET,
      LOG_LEVEL: "warn",
    });
    lines.push("  embedded (PGlite + in-process bus):");
    lines.push(...report(await measure(server)));
  }
  return lines;
}

function report(results: RateResult[]): string[] {
  return results.map((r) => {
    const p50 = percentile(r.latencies, 50);
    const p99 = percentile(r.latencies, 99);
    const lost = r.missing + r.failed > 0 ? `, ${r.missing} unnotified, ${r.failed} failed` : "";
    const saturated = r.achieved < 0.9 * r.target
      ? "\n          saturated: pushes queue in the push path (see `push answered`), so the " +
        "notification latency includes that queueing"
      : "";
    return `    ${String(r.target).padStart(4)}/s: achieved ${int(r.achieved)}/s, ` +
      `notified p50 ${ms(p50)} p99 ${ms(p99)}, ` +
      `push answered p50 ${ms(percentile(r.answered, 50))}, n=${r.latencies.length}` +
      `${lost}${saturated}${r.cpu === null ? "" : `\n          ${r.cpu}`}`;
  });
}

/**
 * The issue's figure: 1,000/s achieved (within 5 %: the last answers trail the schedule),
 * beside the push's own answer and the plain server's.
 */
function figures(r: RateResult, floor: Floor): string[] {
  const answered = `push answered p50 ${ms(percentile(r.answered, 50))}; ` +
    `plain server p50 ${ms(floor.p50)}`;
  return [
    figure({
      name: "push -> notify at 1,000 pushes/s (Postgres + Redis), achieved",
      value: r.achieved,
      unit: "/s",
      goal: { op: ">=", value: 950 },
    }),
    figure({
      name: "push -> notify at 1,000 pushes/s (Postgres + Redis), p50",
      value: percentile(r.latencies, 50),
      unit: "ms",
      goal: { op: "<=", value: 5 },
      baseline: answered,
    }),
    figure({
      name: "push -> notify at 1,000 pushes/s (Postgres + Redis), p99",
      value: percentile(r.latencies, 99),
      unit: "ms",
      goal: { op: "<=", value: 25 },
      baseline: `push answered p99 ${ms(percentile(r.answered, 99))}; ` +
        `plain server p99 ${ms(floor.p99)}`,
    }),
  ];
}

interface Floor {
  achieved: number;
  p50: number;
  p99: number;
  cpu: string;
}

/**
 * The same client's pushes at TOP_RATE to the plain server on the same database, after a
 * warm-up of a second: what this machine gives a push that does the least SQL, with no
 * listener, Redis or socket. Its latency is a push's answer; nothing is notified.
 */
async function plainFloor(databaseUrl: string): Promise<Floor> {
  await using plain = await startServer("plain", { DATABASE_URL: databaseUrl });
  const answered: number[] = [];
  let failed = 0;
  const send = async (i: number) => {
    const sentAt = performance.now();
    const res = await fetch(`${plain.url}/`, {
      method: "POST",
      headers: { authorization: `Bearer plain-${i % USERS}`, "content-type": "application/json" },
      body: JSON.stringify({ changes: [command(`bench ${i} ${crypto.randomUUID()}`)] }),
    });
    await res.json();
    if (res.status === 200) answered.push(performance.now() - sentAt);
    else failed++;
  };
  await openLoop(TOP_RATE, 1, MAX_IN_FLIGHT, send);
  answered.length = 0;
  failed = 0;
  const { value: { sent, elapsedMs }, used } = await cpuDuring(
    plain.pid,
    () => openLoop(TOP_RATE, 3, MAX_IN_FLIGHT, send),
  );
  // openLoop swallows a failed send; a floor made of errors would flatter nothing.
  if (failed > 0 || answered.length !== sent) {
    throw new Error(`The plain server answered ${answered.length} of ${sent} pushes`);
  }
  return {
    achieved: sent / (elapsedMs / 1000),
    p50: percentile(answered, 50),
    p99: percentile(answered, 99),
    cpu: describeCpu(used, sent, "push"),
  };
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}

async function measure(service: ServerProcess): Promise<RateResult[]> {
  const baseUrl = service.url;
  const users: User[] = [];
  try {
    for (let u = 0; u < USERS; u++) {
      const userId = `rt-${u}-${crypto.randomUUID().slice(0, 8)}`;
      const pusher = await register(baseUrl, userId, "pusher");
      const watcher = await register(baseUrl, userId, "watcher");
      const user: User = { pusher, notifications: [], socket: await watch(baseUrl, watcher) };
      user.socket.addEventListener("message", (event) => {
        const at = performance.now();
        const message = JSON.parse(event.data);
        if (message.type === "sync_data_available") {
          user.notifications.push({ seq: decodeCursor(message.cursor), at });
        }
      });
      users.push(user);
    }
    // Warm-up: connections, JIT, the listener's first transactions; not recorded. At the
    // highest rate: the client opens an HTTP connection per request in flight, and the
    // service a database connection per concurrent push, up to its pool. Warmed at 100/s,
    // the 300/s and 1,000/s steps paid for opening them (p99 37-50 ms at 300/s, 9-18 ms
    // once open; p50 11-124 ms at 1,000/s, 6.5-20 ms once open).
    await atRate(service, users, TOP_RATE, 1);
    const results: RateResult[] = [];
    for (const { perSecond, seconds } of RATES) {
      results.push(await atRate(service, users, perSecond, seconds));
    }
    return results;
  } finally {
    for (const user of users) user.socket.close(1000);
  }
}

async function atRate(
  service: ServerProcess,
  users: User[],
  perSecond: number,
  seconds: number,
): Promise<RateResult> {
  const baseUrl = service.url;
  for (const user of users) user.notifications.length = 0;
  const pushes: Push[] = [];
  let failed = 0;
  const send = async (i: number) => {
    const push: Push = {
      user: users[i % users.length],
      sentAt: performance.now(),
      answeredAt: NaN,
      seq: null,
    };
    pushes.push(push);
    try {
      const res = await fetch(`${baseUrl}/api/sync/data`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${push.user.pusher}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ changes: [command(`bench ${i} ${crypto.randomUUID()}`)] }),
      });
      const body = await res.json();
      push.answeredAt = performance.now();
      if (res.status === 200) push.seq = decodeCursor(body.cursor);
      else failed++;
    } catch {
      failed++;
    }
  };
  const loop = () => openLoop(perSecond, seconds, MAX_IN_FLIGHT, send);
  const { value: { elapsedMs: elapsed }, used } = perSecond === TOP_RATE
    ? await cpuDuring(service.pid, loop)
    : { value: await loop(), used: null };
  const lastSeq = new Map<User, number>();
  for (const p of pushes) {
    if (p.seq !== null) lastSeq.set(p.user, Math.max(lastSeq.get(p.user) ?? 0, p.seq));
  }
  await waitFor(
    () => users.every((u) => (u.notifications.at(-1)?.seq ?? 0) >= (lastSeq.get(u) ?? 0)),
    5_000,
  );
  const latencies: number[] = [];
  const answered: number[] = [];
  let missing = 0;
  for (const push of pushes) {
    if (push.seq === null) continue;
    answered.push(push.answeredAt - push.sentAt);
    const at = firstAtLeast(push.user.notifications, push.seq);
    if (at === null) missing++;
    else latencies.push(at - push.sentAt);
  }
  return {
    target: perSecond,
    achieved: (pushes.length - failed) / (elapsed / 1000),
    latencies,
    answered,
    missing,
    failed,
    cpu: used && describeCpu(used, pushes.length, "push"),
  };
}

/** Arrival time of the first notification with a cursor >= seq (cursors arrive in order). */
function firstAtLeast(list: Array<{ seq: number; at: number }>, seq: number): number | null {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo < list.length ? list[lo].at : null;
}

function watch(baseUrl: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(
    `${baseUrl.replace(/^http/, "ws")}/api/sync/ws`,
    [WS_PROTOCOL, `bearer.${token}`],
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("Watcher socket did not open in 10 s")),
      10_000,
    );
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      // The hub confirms the device after subscribing; give it a moment before pushes start.
      setTimeout(() => resolve(socket), 50);
    }, { once: true });
    socket.addEventListener("close", () => {
      clearTimeout(timer);
      reject(new Error("Watcher socket closed before opening"));
    }, { once: true });
  });
}

if (import.meta.main) await benchMain(run);
