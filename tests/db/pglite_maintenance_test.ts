import assert from "node:assert/strict";
import { openPgliteDriver } from "../../db/pglite_driver.ts";
import {
  checkpointIfBehind,
  keepMaintaining,
  type MaintenancePolicy,
  tablesToVacuum,
  walSinceCheckpoint,
} from "../../db/pglite_maintenance.ts";
import type { Queryable } from "../../db/driver.ts";
import { eventually, sleep } from "../support/eventually.ts";

const MB = 2 ** 20;
/** Timers that never fire within a test: the test calls the work itself. */
const IDLE = {
  checkpointEveryMs: 3_600_000,
  checkpointWalBytes: Number.MAX_SAFE_INTEGER,
  vacuumEveryMs: 3_600_000,
};

/** An in-memory database with these timers, closed when the test's scope ends. */
async function inMemory(maintenance: MaintenancePolicy) {
  const db = await openPgliteDriver(undefined, undefined, { maintenance });
  return Object.assign(db, { [Symbol.asyncDispose]: () => db.close() });
}

/** About `mb` MB of WAL in small transactions, letting timers run between them as a server does. */
async function writeWal(db: Queryable, mb: number): Promise<void> {
  const [{ start }] = await db.query<{ start: string }>(
    "select pg_current_wal_insert_lsn()::text as start",
  );
  for (;;) {
    await db.query("insert into filler select g, repeat('x', 200) from generate_series(1, 500) g");
    await sleep(0);
    const [{ written }] = await db.query<{ written: number }>(
      "select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::float8 as written",
      [start],
    );
    if (written >= mb * MB) return;
  }
}

Deno.test("the embedded database checkpoints on its own, between transactions", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-checkpoints-" });
  const db = await openPgliteDriver(`${dataDir}/pgdata`, undefined, {
    maintenance: { checkpointEveryMs: 20, checkpointWalBytes: MB, vacuumEveryMs: 3_600_000 },
  });
  try {
    await db.query("create table filler (n int, pad text)");

    await t.step(
      "WAL since the last checkpoint stays near the threshold while 8MB is written",
      async () => {
        let most = 0;
        for (let i = 0; i < 8; i++) {
          await writeWal(db, 1);
          most = Math.max(most, await walSinceCheckpoint(db));
        }
        // Without checkpoints it would be 8MB and more; a tick comes every 20 ms.
        assert.ok(most < 4 * MB, `WAL behind the last checkpoint reached ${most} bytes`);
      },
    );

    await t.step("a transaction that spans many ticks still commits whole", async () => {
      await db.transaction(async (tx) => {
        await tx.query("insert into filler values (-1, 'first')");
        await sleep(100);
        await tx.query("insert into filler values (-2, 'second')");
      });
      const rows = await db.query<{ n: number }>("select n from filler where n < 0 order by n");
      assert.deepEqual(rows.map((r) => r.n), [-2, -1]);
    });
  } finally {
    await db.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("checkpointIfBehind checkpoints past its threshold, and only then", async () => {
  await using db = await inMemory(IDLE);
  await db.query("create table filler (n int, pad text)");
  await db.query("insert into filler select g, repeat('x', 200) from generate_series(1, 5000) g");
  const before = await walSinceCheckpoint(db);
  assert.ok(before > MB, `the insert wrote ${before} bytes of WAL`);

  assert.equal(await checkpointIfBehind(db, 2 * before), false);
  assert.ok(await walSinceCheckpoint(db) >= before);

  assert.equal(await checkpointIfBehind(db, MB), true);
  assert.ok(
    await walSinceCheckpoint(db) < 64 * 1024,
    "a checkpoint moves the redo point to the end",
  );
});

/** The table's dead rows and vacuum count, once the statistics system has them. */
async function vacuumStats(db: Queryable, table: string) {
  const [row] = await db.query<{ dead: number; vacuums: number }>(
    `select n_dead_tup::int as dead, vacuum_count::int as vacuums from pg_stat_user_tables
     where relname = $1`,
    [table],
  );
  return row;
}

Deno.test("the embedded database vacuums a table with dead rows past autovacuum's threshold, and only such a table", async (t) => {
  await using db = await inMemory({ ...IDLE, vacuumEveryMs: 20 });
  await db.query("create table churned (n int primary key, pad text)");
  await db.query("create table kept (n int primary key, pad text)");
  for (const table of ["churned", "kept"]) {
    await db.query(
      `insert into ${table} select g, repeat('x', 100) from generate_series(1, 2000) g`,
    );
    await db.query(`analyze ${table}`);
  }

  await t.step("dead rows under 50 plus a fifth of the table wait", async () => {
    await db.query("delete from kept where n <= 400");
    await db.query("delete from churned where n <= 400");
    // The statistics system reports them within a second or so; ten ticks more then pass.
    await eventually(async () => (await vacuumStats(db, "kept")).dead === 400);
    await sleep(200);
    assert.deepEqual(await vacuumStats(db, "kept"), { dead: 400, vacuums: 0 });
  });

  await t.step("past it, the next tick vacuums the table: its dead rows are gone", async () => {
    await db.query("delete from churned where n <= 500");
    await eventually(async () => (await vacuumStats(db, "churned")).vacuums > 0);
    assert.deepEqual(await vacuumStats(db, "churned"), { dead: 0, vacuums: 1 });
    assert.equal((await vacuumStats(db, "kept")).vacuums, 0);
    assert.deepEqual(await db.query("select count(*)::int as n from churned"), [{ n: 1500 }]);
  });
});

Deno.test("tablesToVacuum leaves a never analyzed table to the age rule, whatever its dead rows", async () => {
  await using db = await inMemory(IDLE);
  await db.query("create table fresh (n int primary key)");
  await db.query("insert into fresh select generate_series(1, 300)");
  await db.query("delete from fresh where n <= 200");
  await eventually(async () => (await vacuumStats(db, "fresh")).dead === 200);
  assert.deepEqual(await tablesToVacuum(db), []);

  await db.query("analyze fresh");
  assert.deepEqual(await tablesToVacuum(db), ["public.fresh"]);
});

Deno.test("tablesToVacuum names every table past the freeze age, the system catalogs' too, and vacuuming them freezes them", async () => {
  await using db = await inMemory(IDLE);
  await db.query("create table fresh (n int primary key)");
  for (let i = 0; i < 20; i++) await db.query("insert into fresh values ($1)", [i]);
  const old = await tablesToVacuum(db, 10);
  assert.ok(old.includes("public.fresh"), old.join());
  assert.ok(old.includes("pg_catalog.pg_class"), old.join());

  for (const table of old) await db.query(`vacuum (freeze) ${table}`);
  assert.deepEqual(await tablesToVacuum(db, 10), []);
});

Deno.test("maintenance that fails is reported by what it was, and tried again at the next tick (a session that fails every statement stands in for a failing disk)", async () => {
  const reports: string[] = [];
  let statements = 0;
  const failing = {
    query(): Promise<never> {
      statements++;
      return Promise.reject(new Error("disk full"));
    },
  };
  const stop = keepMaintaining(
    (work) => work(failing),
    { checkpointEveryMs: 10, checkpointWalBytes: MB, vacuumEveryMs: 10 },
    (work, error) => reports.push(`${work}: ${(error as Error).message}`),
  );
  await eventually(() => reports.length >= 6);
  stop();
  const after = statements;
  await sleep(50);
  assert.equal(statements, after, "nothing runs once stopped");
  assert.ok(reports.filter((r) => r === "checkpoint: disk full").length >= 2, reports.join());
  assert.ok(reports.filter((r) => r === "vacuum: disk full").length >= 2, reports.join());
  assert.deepEqual(reports.filter((r) => !r.endsWith(": disk full")), []);
});

Deno.test("a stop between two tables' VACUUMs ends the loop, so nothing runs on a database that is closing (a scripted session stands in for one with three tables due)", async () => {
  const sent: string[] = [];
  let stop = () => {};
  const session = {
    query<T>(text: string): Promise<T[]> {
      sent.push(text.startsWith("vacuum") ? text : "tables?");
      if (text === "vacuum public.a") stop();
      const due = [{ name: "public.a" }, { name: "public.b" }, { name: "public.c" }];
      return Promise.resolve((text.startsWith("vacuum") ? [] : due) as T[]);
    },
  };
  const failed: unknown[] = [];
  stop = keepMaintaining(
    (work) => work(session),
    { ...IDLE, vacuumEveryMs: 10 },
    (_work, error) => failed.push(error),
  );
  await eventually(() => sent.length >= 2);
  await sleep(50);
  assert.deepEqual(sent, ["tables?", "vacuum public.a"]);
  assert.deepEqual(failed, []);
});

Deno.test("a database killed after the driver's checkpoints reopens from the last one with every committed row", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-checkpoint-kill-" });
  try {
    const writer = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("./checkpoint_kill_main.ts", import.meta.url).pathname,
        `${dataDir}/pgdata`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = writer.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += value;
    }
    writer.kill("SIGKILL");
    await writer.status;
    await reader.cancel();
    const written: { rows: number; redo: string; error?: string } = JSON.parse(line);
    assert.equal(written.error, undefined);

    const db = await openPgliteDriver(`${dataDir}/pgdata`, undefined, { maintenance: IDLE });
    try {
      // The control file held the driver's last checkpoint: recovery started there (or later).
      const [{ kept }] = await db.query<{ kept: boolean }>(
        "select $1::pg_lsn <= redo_lsn as kept from pg_control_checkpoint()",
        [written.redo],
      );
      assert.equal(kept, true);
      const [{ n, top }] = await db.query<{ n: number; top: number }>(
        "select count(*)::int as n, max(n) as top from kept",
      );
      assert.deepEqual({ n, top }, { n: written.rows, top: written.rows });
    } finally {
      await db.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
