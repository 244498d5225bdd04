/**
 * Push and pull throughput through the real app (HTTP handlers, validation, store) on a
 * real Postgres, each against the same rows written or read with plain SQL on the same
 * database. The ratio is the figure; absolute numbers depend on the machine.
 */
import postgres from "postgres";
import { openTestApp } from "../tests/support/app.ts";
import { command } from "../tests/support/changes.ts";
import { figure } from "./support/report.ts";
import { analyzeGrownTables } from "../db/statistics_sql.ts";
import { prepareChange } from "../sync/prepare_change.ts";
import { percentile, timed } from "./support/stats.ts";

const BATCH = 500;
const BATCHES = 60;
const PULL_ROWS = 10_000;
const PULL_ROUNDS = 9;
const PULL_WARMUP = 5;

export async function run(): Promise<string[]> {
  await using t = await openTestApp("postgres");
  const sql = postgres(t.db.url!, { max: 1, onnotice: () => {} });
  try {
    const lines: string[] = [];
    const device = await t.device("bench-push");
    const newBatch = () =>
      Array.from({ length: BATCH }, (_, i) => command(`make target-${i} ${crypto.randomUUID()}`));
    const batches = Array.from({ length: BATCHES }, newBatch);
    // Warm-up: JIT, prepared statements and caches on both sides before anything is timed.
    const warmUp = () => Array.from({ length: 5 }, newBatch);
    await pushAll(t, device.token, warmUp());
    await plainInsert(sql, warmUp().map((batch) => storedRows(batch, device.id)), 2_000_000);
    const plainBatches = Array.from({ length: BATCHES }, () => storedRows(newBatch(), device.id));
    // Alternated batch by batch: a spell of load on a shared machine then weighs on both sides
    // alike, and both insert into a table of the same size (timed one side after the other,
    // the ratio wandered by a third between runs).
    let serviceMs = 0;
    let plainMs = 0;
    for (const [i, batch] of batches.entries()) {
      serviceMs += await timed(() => pushAll(t, device.token, [batch]));
      plainMs += await timed(() => plainInsert(sql, [plainBatches[i]], 1_000_000 + i * BATCH));
    }
    const serviceRate = (BATCH * BATCHES) / (serviceMs / 1000);
    const plainRate = (BATCH * BATCHES) / (plainMs / 1000);
    lines.push(
      `push: ${BATCHES} batches of ${BATCH} commands`,
      `  service   ${serviceRate.toFixed(0)} changes/s`,
      `  plain SQL ${
        plainRate.toFixed(0)
      } changes/s (one multi-row insert per batch of the rows the service stores)`,
      figure({
        name: "push ingest, batches of 500, vs plain SQL",
        value: serviceRate / plainRate,
        unit: "x",
        goal: { op: ">=", value: 0.6 },
        baseline: `${serviceRate.toFixed(0)} vs ${plainRate.toFixed(0)} changes/s`,
      }),
    );

    const reader = await t.device("bench-pull");
    const seed = Array.from(
      { length: PULL_ROWS / BATCH },
      () => Array.from({ length: BATCH }, () => command(`seed ${crypto.randomUUID()}`)),
    );
    await pushAll(t, reader.token, seed);
    // Steady state: a deployment's tables have planner statistics (autovacuum on Postgres,
    // the scheduled jobs on the embedded database); a table just filled has none yet.
    await analyzeGrownTables(t.db.driver);
    const first = await pullAll(t, reader.token);
    if (first.changes !== PULL_ROWS) {
      throw new Error(`Pulled ${first.changes} of ${PULL_ROWS} changes`);
    }
    // Alternated like the pushes, and 9 of each: one after the other, 5 of each, the plain
    // select alone wandered by a quarter between runs. Warmed up first, like the pushes: in
    // a fresh process the plain select's first rounds ran while its row parsing was still
    // being optimised (its median 46-48 ms in the first round of `--repeat`, 26-28 ms after).
    for (let i = 0; i < PULL_WARMUP; i++) {
      await pullAll(t, reader.token);
      await plainPull(sql);
    }
    const pulls: PullTiming[] = [];
    const plainPulls: number[] = [];
    for (let i = 0; i < PULL_ROUNDS; i++) {
      pulls.push(await pullAll(t, reader.token));
      plainPulls.push(await timed(() => plainPull(sql)));
    }
    const pullMs = percentile(pulls.map((pull) => pull.ms), 50);
    const parseMs = percentile(pulls.map((pull) => pull.parseMs), 50);
    const plainPullMs = percentile(plainPulls, 50);
    lines.push(
      `pull: ${PULL_ROWS} changes from scratch, pages of 1000, median of ${PULL_ROUNDS}, tables analyzed after seeding`,
      `  plain SQL ${plainPullMs.toFixed(1)} ms (one select of the same rows)`,
      `  of the service's time, the client's JSON.parse of the pages: ${parseMs.toFixed(1)} ms`,
      figure({
        name: "pull of 10,000 changes from scratch",
        value: pullMs,
        unit: "ms",
        goal: { op: "<=", value: 100 },
        baseline: `${(plainPullMs / pullMs).toFixed(2)}x plain SQL speed`,
      }),
      figure({
        name: "pull of 10,000 changes from scratch, vs plain SQL",
        value: plainPullMs / pullMs,
        unit: "x",
        goal: { op: ">=", value: 0.7 },
      }),
    );
    return lines;
  } finally {
    await sql.end();
  }
}

type App = Awaited<ReturnType<typeof openTestApp>>;

/**
 * The app itself (`app.request`), not the test harness's `t.request`, which also checks
 * every answer against the OpenAPI document: a cost of the tests, not of the service.
 */
function call(t: App, method: string, path: string, token: string, body?: unknown) {
  return t.app.request(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function pushAll(t: App, token: string, batches: unknown[][]) {
  for (const changes of batches) {
    const res = await call(t, "POST", "/api/sync/data", token, { changes });
    if (res.status !== 200) throw new Error(`push failed: ${res.status} ${await res.text()}`);
    await res.body?.cancel();
  }
}

interface PullTiming {
  changes: number;
  /** From the first request until the last page is read, the client's parse included. */
  ms: number;
  /** The client's JSON.parse of the pages: here it runs on the service's thread. */
  parseMs: number;
}

async function pullAll(t: App, token: string): Promise<PullTiming> {
  const started = performance.now();
  let changes = 0;
  let parseMs = 0;
  let cursor = "";
  for (;;) {
    const res = await call(
      t,
      "GET",
      `/api/sync/data?limit=1000${cursor ? `&since=${cursor}` : ""}`,
      token,
    );
    const text = await res.text();
    if (res.status !== 200) throw new Error(`pull failed: ${res.status} ${text}`);
    const read = performance.now();
    const page = JSON.parse(text);
    parseMs += performance.now() - read;
    changes += page.changes.length;
    cursor = page.cursor;
    if (!page.has_more) return { changes, ms: performance.now() - started, parseMs };
  }
}

/**
 * The columns the service fills for a new command, its device and its dedupe key included:
 * without them the baseline wrote less than the service (a dedupe key is an entry in the
 * items_dedupe index at a random place, a null one lands at its end), about a tenth faster.
 * Computed before the clock starts: hashing is the service's work, not plain SQL's.
 */
function storedRows(batch: ReturnType<typeof command>[], deviceId: string) {
  return batch.map((c) => ({
    collection: c.collection,
    id: c.id,
    data: c.data,
    modified_at: c.modified_at,
    change_id: c.change_id,
    device_id: deviceId,
    dedupe_key: dedupeKeyOf(c),
  }));
}

function dedupeKeyOf(change: ReturnType<typeof command>): string | null {
  const prepared = prepareChange(change);
  if (!prepared.ok) throw new Error(`The bench's command was rejected: ${prepared.error.message}`);
  return prepared.dedupeKey;
}

function plainPull(sql: postgres.Sql) {
  return sql`select * from items where user_id = 'bench-pull' order by seq`;
}

async function plainInsert(
  sql: postgres.Sql,
  batches: ReturnType<typeof storedRows>[],
  firstSeq: number,
) {
  let seq = firstSeq;
  for (const batch of batches) {
    const rows = batch.map((row) => ({
      ...row,
      user_id: "bench-plain",
      version: 1,
      data: sql.json(row.data as postgres.JSONValue),
      seq: seq++,
    }));
    await sql`insert into items ${sql(rows)}`;
  }
}

if (import.meta.main) console.log((await run()).join("\n"));
