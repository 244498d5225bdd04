/**
 * A WebSocket `hello` at the head, the reconnect of a device that missed nothing: the
 * service (main.ts wiring on Postgres + Redis, ROLE=api, in its own process) with its head
 * cache (SYNC_CACHE=on) against the same service without it. Each round sends `hello` and
 * a `ping` and waits for the `pong`: replies keep request order, so the pong says the
 * hello was answered (at the head there is nothing else to answer). A ping-only round on
 * the cached service gives the floor: what the socket round trip alone costs. The client
 * is `ws`, which sets TCP_NODELAY: with Deno's WebSocket the ping waits behind the hello
 * for the server's delayed ACK (Nagle), and every round takes ~40 ms whatever the server
 * does.
 * Every socket stays within its message budget (120 a minute: WARM + ROUNDS rounds of 2).
 * Not in a unit test: performance targets live here (deno task bench).
 */
import { benchMain, benchRedisUrl } from "./support/bench_env.ts";
import { BENCH_SECRET, deviceSocket } from "./support/api_service.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { seedDevices } from "./support/seed_devices.ts";
import { type ServerProcess, startServer } from "./support/server_process.ts";
import { int, percentile, ratio } from "./support/stats.ts";
import type { SocketTarget } from "./support/ws_fleet.ts";
// @ts-types="npm:@types/ws@8.18.2"
import WebSocket from "ws";

const USERS = 64;
const DEVICES = 4;
const WARM = 5;
const ROUNDS = 50;

interface Rate {
  perSecond: number;
  p50: number;
  p99: number;
}

export async function run(): Promise<string[]> {
  const sockets = USERS * DEVICES;
  const results: Record<string, Rate> = {};
  for (const cache of ["off", "on"] as const) {
    await using db = await openBenchDb();
    const devices = await seedDevices(db.url, `hello-${cache}`, USERS, DEVICES);
    await using server = await startServer("service", {
      DATABASE_URL: db.url,
      REDIS_URL: benchRedisUrl(),
      ROLE: "api",
      JWT_SECRET: BENCH_SECRET,
      LOG_LEVEL: "error",
      SYNC_CACHE: cache,
      JOBS_INTERVAL_SECONDS: "0",
    });
    const heads = new Map<string, string>();
    for (const device of devices) {
      if (!heads.has(device.userId)) heads.set(device.userId, await pushOne(server, device.token));
    }
    const targets = devices.map((d) => ({
      socket: deviceSocket(server, d.token),
      hello: { type: "hello", cursor: heads.get(d.userId)! },
    }));
    results[cache] = await rounds(targets);
    if (cache === "on") {
      results.floor = await rounds(targets.map(({ socket }) => ({ socket, hello: null })));
    }
  }
  const line = (label: string, r: Rate) =>
    `    ${label} ${int(r.perSecond)} rounds/s  p50 ${r.p50.toFixed(2)} ms  p99 ${
      r.p99.toFixed(2)
    } ms`;
  return [
    `hello at head: ${sockets} sockets (${USERS} users × ${DEVICES} devices), ` +
    `${ROUNDS} rounds each, over WebSocket`,
    line("hello + ping, cache off", results.off),
    line("hello + ping, cache on ", results.on),
    line("ping only (the floor)  ", results.floor),
    `    ratio on/off ${
      ratio(results.on.perSecond / results.off.perSecond)
    } (goal > 1x: keep the hello fast path only if it pays)`,
  ];
}

/** Pushes one command; the cursor it answers is the user's head. */
async function pushOne(server: ServerProcess, token: string): Promise<string> {
  const res = await fetch(`${server.url}/api/sync/data`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({
      changes: [{
        change_id: crypto.randomUUID(),
        collection: "commands",
        id: crypto.randomUUID(),
        op: "upsert",
        data: { command: "make", session_id: "s", started_at: Date.now() },
        base_version: null,
        modified_at: Date.now(),
      }],
    }),
  });
  if (!res.ok) throw new Error(`push: ${res.status} ${await res.text()}`);
  return (await res.json()).cursor;
}

/**
 * Every socket at once, each running WARM then ROUNDS rounds one after another: `hello`
 * (unless null) and a ping, until the pong. Anything else the server sends fails the run.
 */
async function rounds(targets: { socket: SocketTarget; hello: unknown }[]): Promise<Rate> {
  const opened = await Promise.all(targets.map(({ socket }) => open(socket)));
  try {
    const latencies: number[] = [];
    const loop = async (i: number, n: number, record: boolean) => {
      const { hello } = targets[i];
      for (let round = 0; round < n; round++) {
        const start = performance.now();
        await opened[i].round(hello);
        if (record) latencies.push(performance.now() - start);
      }
    };
    await Promise.all(targets.map((_, i) => loop(i, WARM, false)));
    const start = performance.now();
    await Promise.all(targets.map((_, i) => loop(i, ROUNDS, true)));
    const seconds = (performance.now() - start) / 1000;
    return {
      perSecond: latencies.length / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    for (const socket of opened) socket.close();
  }
}

/** One open socket that runs rounds: sends `hello` (unless null) and a ping, awaits the pong. */
function open(
  target: SocketTarget,
): Promise<{ round(hello: unknown): Promise<void>; close(): void }> {
  const socket = new WebSocket(target.url, target.protocols ?? []);
  let pending: { resolve: () => void; reject: (error: Error) => void } | null = null;
  socket.on("message", (data) => {
    const type = JSON.parse(String(data)).type;
    if (type === "pong") pending?.resolve();
    // The user's other devices coming and going.
    else if (type !== "device_status") {
      pending?.reject(new Error(`Unexpected message at the head: ${data}`));
    }
  });
  socket.on("close", (code, reason) => {
    pending?.reject(new Error(`Socket closed: ${code} ${reason}`));
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () =>
      resolve({
        round(hello) {
          const { promise, resolve, reject } = Promise.withResolvers<void>();
          pending = { resolve, reject };
          if (hello) socket.send(JSON.stringify(hello));
          socket.send('{"type":"ping"}');
          return promise;
        },
        close: () => socket.close(),
      }));
  });
}

if (import.meta.main) await benchMain(run);
