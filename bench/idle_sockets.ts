/**
 * Memory per idle WebSocket: the growth of the server process (RSS, and V8 heap + external
 * after a full GC) from before to after SOCKETS sockets opened, divided by SOCKETS. The
 * service (main.ts wiring on Postgres + Redis, ROLE=api: USERS users with DEVICES devices,
 * one socket each, each socket authenticated, confirmed and its user's channel subscribed)
 * against a bare `Deno.upgradeWebSocket` echo server, each in its own process, the client
 * sockets in this one. Both servers first see and drop WARM sockets, so the baseline
 * already holds the code and pools every connection touches.
 */
import { deviceSocket, startApiService } from "./support/api_service.ts";
import { benchMain } from "./support/bench_env.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { seedDevices } from "./support/seed_devices.ts";
import { type ServerMemory, type ServerProcess, startServer } from "./support/server_process.ts";
import { figure } from "./support/report.ts";
import { sleep } from "./support/stats.ts";
import { openFleet, type SocketTarget } from "./support/ws_fleet.ts";

const DEVICES = 10;
const WARM = 200;

export async function run(): Promise<string[]> {
  const fdLimit = await openFileLimit();
  // Each side holds one descriptor per socket; keep headroom for the rest of the process.
  const sockets = Math.min(10_000, Math.floor((fdLimit - 500) / 1000) * 1000);
  const users = sockets / DEVICES;
  const lines = [
    `idle sockets: ${sockets} open WebSockets, server memory growth per socket ` +
    `(open-file limit ${fdLimit}; goal is 10,000 sockets)`,
  ];

  let service: Growth;
  {
    await using db = await openBenchDb();
    const devices = await seedDevices(db.url, "idle", users + WARM / DEVICES, DEVICES);
    await using server = await startApiService(db.url);
    const targets = devices.map((d) => deviceSocket(server, d.token));
    service = await growth(server, targets.slice(sockets), targets.slice(0, sockets));
  }
  let bare: Growth;
  {
    await using server = await startServer("bare", {});
    const ws = server.url.replace(/^http/, "ws");
    const targets = Array.from(
      { length: sockets + WARM },
      (_, i): SocketTarget => ({ url: `${ws}/?user=u${Math.floor(i / DEVICES)}` }),
    );
    bare = await growth(server, targets.slice(sockets), targets.slice(0, sockets));
  }
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  lines.push(
    `  service (${users} users x ${DEVICES} devices)  RSS ${kb(service.rss)}/socket, ` +
      `heap+external ${kb(service.heap)}/socket, opened in ${service.openMs.toFixed(0)} ms`,
    `  bare Deno.upgradeWebSocket echo       RSS ${kb(bare.rss)}/socket, ` +
      `heap+external ${kb(bare.heap)}/socket, opened in ${bare.openMs.toFixed(0)} ms`,
    figure({
      name: "idle sockets, memory per socket, RSS vs bare",
      value: service.rss / bare.rss,
      unit: "x",
      goal: { op: "<=", value: 1.25 },
    }),
    figure({
      name: "idle sockets, memory per socket, heap+external vs bare",
      value: service.heap / bare.heap,
      unit: "x",
      goal: { op: "<=", value: 1.25 },
    }),
  );
  return lines;
}

interface Growth {
  rss: number;
  heap: number;
  openMs: number;
}

async function growth(
  server: ServerProcess,
  warm: SocketTarget[],
  targets: SocketTarget[],
): Promise<Growth> {
  {
    await using _warm = await openFleet(warm);
    await sleep(300);
  }
  await sleep(500);
  const before = await server.memory();
  const started = performance.now();
  await using fleet = await openFleet(targets);
  const openMs = performance.now() - started;
  // Let subscriptions, device confirmations and `online` events settle.
  await sleep(1500);
  const after = await server.memory();
  if (fleet.closedByServer > 0) {
    throw new Error(`The server closed ${fleet.closedByServer} of ${fleet.size} idle sockets`);
  }
  const heap = (m: ServerMemory) => m.heapUsed + m.external;
  return {
    rss: (after.rss - before.rss) / targets.length,
    heap: (heap(after) - heap(before)) / targets.length,
    openMs,
  };
}

async function openFileLimit(): Promise<number> {
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? 1_000_000 : Number(text);
}

if (import.meta.main) await benchMain(run);
