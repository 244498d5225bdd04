/**
 * "Anything new?" when nothing is: pulls at the head over HTTP, the service (main.ts
 * wiring on Postgres + Redis, ROLE=api, in its own process) with its head cache
 * (SYNC_CACHE=on) against the same service without it; and `/api/sync/stats` both ways.
 * Budgets are raised (RATE_LIMITS) so the limiter counts every request but refuses none.
 */
import { mintAccountToken } from "../sync/account_tokens.ts";
import { benchMain, benchRedisUrl } from "./support/bench_env.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { startServer } from "./support/server_process.ts";
import { int, percentile, ratio } from "./support/stats.ts";

const SECRET = "bench-secret-that-is-at-least-32-characters-long";
const CONCURRENCY = 16;
const SECONDS = 5;
const HUGE = { device: 10_000_000, user: 10_000_000 };

interface Rate {
  perSecond: number;
  p50: number;
  p99: number;
}

export async function run(): Promise<string[]> {
  const lines = [
    `pull at head: ${CONCURRENCY} concurrent clients for ${SECONDS} s each, one device, over HTTP`,
  ];
  const results: Record<string, { pull: Rate; stats: Rate }> = {};
  for (const cache of ["off", "on"] as const) {
    await using db = await openBenchDb();
    await using server = await startServer("service", {
      DATABASE_URL: db.url,
      REDIS_URL: benchRedisUrl(),
      ROLE: "api",
      JWT_SECRET: SECRET,
      LOG_LEVEL: "error",
      SYNC_CACHE: cache,
      JOBS_INTERVAL_SECONDS: "0",
      RATE_LIMITS: JSON.stringify({ enterprise: HUGE }),
    });
    const { token, head } = await deviceAtHead(server.url);
    const pull = await hammer(`${server.url}/api/sync/data?since=${head}`, token);
    const stats = await hammer(`${server.url}/api/sync/stats`, token);
    results[cache] = { pull, stats };
  }
  const { on, off } = results;
  for (const what of ["pull", "stats"] as const) {
    lines.push(
      `  ${what === "pull" ? "GET /api/sync/data?since=<head>" : "GET /api/sync/stats"}`,
      `    cache off ${int(off[what].perSecond)} req/s  p50 ${off[what].p50.toFixed(2)} ms  p99 ${
        off[what].p99.toFixed(2)
      } ms`,
      `    cache on  ${int(on[what].perSecond)} req/s  p50 ${on[what].p50.toFixed(2)} ms  p99 ${
        on[what].p99.toFixed(2)
      } ms`,
      `    ratio     ${
        ratio(on[what].perSecond / off[what].perSecond)
      } (goal > 1x: keep the cache only if it pays)`,
    );
  }
  return lines;
}

/** Registers a device, pushes some history, pulls it all: the cursor it ends at is the head. */
async function deviceAtHead(baseUrl: string): Promise<{ token: string; head: string }> {
  const userId = `bench-head-${crypto.randomUUID()}`;
  const account = await mintAccountToken(SECRET, {
    userId,
    tier: "enterprise",
    expiresInSeconds: 600,
  });
  const registered = await call(baseUrl, "POST", "/api/devices/register", account, {
    name: "bench",
    platform: "linux",
  });
  const token = registered.token as string;
  const changes = Array.from({ length: 200 }, (_, i) => ({
    change_id: crypto.randomUUID(),
    collection: "commands",
    id: crypto.randomUUID(),
    op: "upsert",
    data: { command: `make ${i}`, session_id: "s", started_at: Date.now() },
    base_version: null,
    modified_at: Date.now(),
  }));
  await call(baseUrl, "POST", "/api/sync/data", token, { changes });
  let cursor = "";
  for (;;) {
    const page = await call(baseUrl, "GET", `/api/sync/data?limit=1000&since=${cursor}`, token);
    cursor = page.cursor as string;
    if (!page.has_more) return { token, head: cursor };
  }
}

async function call(
  baseUrl: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return await res.json();
}

/** CONCURRENCY loops of GET `url` for SECONDS (after a one-second warm-up). */
async function hammer(url: string, token: string): Promise<Rate> {
  const headers = { authorization: `Bearer ${token}` };
  const loop = async (until: number, latencies: number[]) => {
    while (performance.now() < until) {
      const start = performance.now();
      const res = await fetch(url, { headers });
      if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      latencies.push(performance.now() - start);
    }
  };
  const warm = performance.now() + 1_000;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(warm, [])));
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, () => loop(start + SECONDS * 1_000, latencies)),
  );
  const seconds = (performance.now() - start) / 1000;
  return {
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

if (import.meta.main) await benchMain(run);
