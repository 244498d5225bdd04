/**
 * WAL → Redis throughput of the ReplicationListener against `pg_recvlogical` on the same
 * backlog. With nobody consuming, plain SQL writes ROWS item rows in transactions of
 * TX_ROWS rows (one user per transaction, USERS users in turn), then a logical message
 * marks the end. Two pgoutput slots made before the workload hold the same backlog; each
 * consumer is timed from its start to having consumed everything up to the end mark:
 * - `pg_recvlogical --plugin pgoutput -o proto_version=1 -o publication_names=<pub>
 *   -o messages=true --endpos=<end>` writing the raw stream to a temp file (no fsync);
 * - the ReplicationListener decoding it and publishing one event per transaction to the
 *   RedisBus, acknowledging as it goes, until its acknowledged LSN reaches the end mark.
 * The drain rate is the highest rate each sustains with bounded slot lag: above it the
 * lag grows without bound.
 */
import { RedisBus } from "../sync/bus/redis_bus.ts";
import { SILENT_LOGGER } from "../sync/logger.ts";
import { ReplicationListener } from "../sync/replication/listener.ts";
import { parseLsn } from "../sync/replication/lsn.ts";
import { ensurePublicationAndSlot, type SqlSession } from "../sync/replication/slot.ts";
import { benchMain, benchRedisUrl } from "./support/bench_env.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { figure } from "./support/report.ts";
import { int, sleep, waitFor } from "./support/stats.ts";

const ROWS = 50_000;
const TX_ROWS = 10;
const USERS = 20;
/** Bound of each consumer's run. */
const TIMEOUT_MS = 120_000;

export async function run(): Promise<string[]> {
  await using db = await openBenchDb();
  const driver = db.db.driver;
  const session: SqlSession = {
    query: async (text, params) => ({ rows: await driver.query(text, params) }),
  };
  // The listener's slot (named like its publication) and the baseline's, at the same LSN.
  await ensurePublicationAndSlot(session, db.slot);
  const recvSlot = `${db.slot}_recv`;
  await driver.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [recvSlot]);
  const [{ start }] = await driver.query<{ start: string }>(
    "select pg_current_wal_lsn()::text as start",
  );
  const transactions = ROWS / TX_ROWS;
  await driver.query(`
    do $$
    begin
      for t in 0..${transactions - 1} loop
        insert into items (user_id, collection, id, version, data, modified_at, device_id, seq)
        select 'wal-' || (t % ${USERS}), 'commands', 'c-' || t || '-' || g, 1,
               jsonb_build_object('command', 'make target-' || g, 'session_id', 's1',
                                  'started_at', 1700000000000),
               1700000000000, null, t * ${TX_ROWS} + g
          from generate_series(1, ${TX_ROWS}) g;
        commit;
      end loop;
    end $$`);
  const [{ end, bytes }] = await driver.query<{ end: string; bytes: string }>(
    `select lsn::text as end, pg_wal_lsn_diff(lsn, $1::pg_lsn)::text as bytes
       from pg_logical_emit_message(false, 'bench', 'end') as lsn`,
    [start],
  );

  const baselineMs = await recvlogical(db.url, recvSlot, db.slot, end);
  const listenerMs = await listener(db.url, db.slot, end);
  const rate = (ms: number) => ROWS / (ms / 1000);
  return [
    `WAL -> Redis: ${int(ROWS)} item rows in ${int(transactions)} transactions of ${TX_ROWS} ` +
    `(${USERS} users), ${(Number(bytes) / 1e6).toFixed(1)} MB of WAL, drained from a cold slot`,
    `  pg_recvlogical (pgoutput)       ${int(rate(baselineMs))} changes/s (${int(baselineMs)} ms)`,
    `  ReplicationListener -> Redis    ${int(rate(listenerMs))} changes/s (${
      int(listenerMs)
    } ms, ` +
    `${int(transactions / (listenerMs / 1000))} events/s)`,
    figure({
      name: "WAL -> Redis, vs pg_recvlogical",
      value: baselineMs / listenerMs,
      unit: "x",
      goal: { op: ">=", value: 0.7 },
    }),
  ];
}

async function recvlogical(url: string, slot: string, publication: string, end: string) {
  const file = await Deno.makeTempFile({ prefix: "bench-recvlogical-" });
  try {
    const command = new Deno.Command(`${await postgresBinDir()}/pg_recvlogical`, {
      args: [
        `--dbname=${url}`,
        `--slot=${slot}`,
        "--start",
        "--no-loop",
        `--endpos=${end}`,
        `--file=${file}`,
        "--fsync-interval=0",
        "-o",
        "proto_version=1",
        "-o",
        `publication_names=${publication}`,
        "-o",
        "messages=true",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
    const started = performance.now();
    const child = command.spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    const output = await child.output();
    clearTimeout(timer);
    const ms = performance.now() - started;
    if (!output.success) {
      throw new Error(`pg_recvlogical failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return ms;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

async function listener(url: string, slot: string, end: string): Promise<number> {
  const bus = await RedisBus.connect(benchRedisUrl());
  const target = parseLsn(end);
  try {
    const started = performance.now();
    await using l = new ReplicationListener({
      databaseUrl: url,
      slot,
      bus,
      logger: SILENT_LOGGER,
      heartbeatMs: 60_000,
    });
    await l.start();
    const done = await waitFor(
      () => {
        const acked = l.state().lastAckedLsn;
        return acked !== null && parseLsn(acked) >= target;
      },
      TIMEOUT_MS,
      2,
    );
    const ms = performance.now() - started;
    if (!done) throw new Error(`ReplicationListener did not reach ${end} in ${TIMEOUT_MS} ms`);
    return ms;
  } finally {
    await sleep(0);
    await bus.close();
  }
}

async function postgresBinDir(): Promise<string> {
  const versions: number[] = [];
  for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
    if (/^\d+$/.test(entry.name)) versions.push(Number(entry.name));
  }
  for (const version of versions.sort((a, b) => b - a)) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (await Deno.stat(`${dir}/pg_recvlogical`).then(() => true, () => false)) return dir;
  }
  throw new Error("pg_recvlogical not found under /usr/lib/postgresql/<version>/bin");
}

if (import.meta.main) await benchMain(run);
