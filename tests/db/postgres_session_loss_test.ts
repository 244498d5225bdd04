/**
 * Postgres ends a session in the middle of a transaction (pg_terminate_backend, a fast
 * shutdown, a failover): the transaction fails, the process lives on, and the pool serves
 * the next statements. Real Postgres only: the embedded database has no sessions to end.
 * A statement sent on the dead session would throw from a timer inside postgres.js, which
 * Deno's test runner reports as an uncaught error failing this file.
 */
import assert from "node:assert/strict";
import type { Driver, Queryable } from "../../db/driver.ts";
import { openPostgresDriver } from "../../db/postgres_driver.ts";
import { openTestDb } from "../support/drivers.ts";
import { eventually } from "../support/eventually.ts";

/** Ends the sessions of the test's pool that sit in a transaction in the given state. */
async function terminateSessions(driver: Driver, state: string, query?: RegExp): Promise<void> {
  await eventually(
    async () => {
      const rows = await driver.query<{ pid: number; query: string }>(
        `select pid, query from pg_stat_activity
          where datname = current_database() and application_name = 'devpocket-sync'
            and state = $1 and pid <> pg_backend_pid()`,
        [state],
      );
      const pids = rows.filter((r) => !query || query.test(r.query)).map((r) => r.pid);
      if (pids.length === 0) return false;
      await driver.query("select pg_terminate_backend(pid) from unnest($1::int[]) pid", [pids]);
      return true;
    },
    5_000,
    `a session ${state}`,
  );
}

/** What the store must see after a lost session: the pool works, and nothing was written. */
async function assertRecovered(driver: Driver): Promise<void> {
  // As many statements at once as the pool has connections: the lost one is among them.
  const counts = await Promise.all(
    Array.from(
      { length: 5 },
      () => driver.query<{ n: number }>("select count(*)::int as n from t"),
    ),
  );
  assert.deepEqual(counts.map(([{ n }]) => n), [0, 0, 0, 0, 0], "nothing was committed");
  const value = await driver.transaction(async (tx) => {
    await tx.query("insert into t values (1)");
    return "committed";
  });
  assert.equal(value, "committed");
  await driver.query("delete from t");
}

const hold = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a transaction whose session is ended while `fn` runs, and returns how it failed
 * once `fn` has finished too (a late statement of `fn` is what used to crash the process).
 */
async function lostTransaction(
  driver: Driver,
  fn: (tx: Queryable) => Promise<unknown>,
  kill: () => Promise<void>,
): Promise<unknown> {
  let finished!: () => void;
  const done = new Promise<void>((resolve) => finished = resolve);
  const outcome = driver.transaction(async (tx) => {
    try {
      return await fn(tx);
    } finally {
      finished();
    }
  }).then(
    () => assert.fail("the transaction committed though its session was ended"),
    (error: unknown) => error,
  );
  await kill();
  const error = await outcome;
  await done;
  // A statement sent after the kill would fail from a timer: give it the time to.
  await hold(50);
  return error;
}

async function openDb() {
  const db = await openTestDb("postgres", { migrated: false });
  await db.driver.query("create table t (n int)");
  return db;
}

Deno.test("[postgres] a session ended before the transaction's first statement fails the transaction, and the pool recovers", async () => {
  await using db = await openDb();
  const error = await lostTransaction(
    db.driver,
    async (tx) => {
      await hold(300);
      await tx.query("insert into t values (1)");
    },
    () => terminateSessions(db.driver, "idle in transaction"),
  );
  assert.ok(error instanceof Error, String(error));
  await assertRecovered(db.driver);
});

Deno.test("[postgres] a session ended between two statements fails the transaction, and the pool recovers", async () => {
  await using db = await openDb();
  const error = await lostTransaction(
    db.driver,
    async (tx) => {
      await tx.query("insert into t values (1)");
      await hold(300);
      await tx.query("insert into t values (2)");
    },
    () => terminateSessions(db.driver, "idle in transaction"),
  );
  assert.ok(error instanceof Error, String(error));
  await assertRecovered(db.driver);
});

Deno.test("[postgres] a session ended while a statement runs fails the transaction, and the pool recovers", async () => {
  await using db = await openDb();
  const error = await lostTransaction(
    db.driver,
    async (tx) => {
      await tx.query("insert into t values (1)");
      await tx.query("select pg_sleep(5)");
      await tx.query("insert into t values (2)");
    },
    () => terminateSessions(db.driver, "active", /pg_sleep/),
  );
  assert.ok(error instanceof Error, String(error));
  await assertRecovered(db.driver);
});

Deno.test("[postgres] a session ended while a statement that was not awaited runs fails the transaction, and the pool recovers", async () => {
  await using db = await openDb();
  const error = await lostTransaction(
    db.driver,
    (tx) => {
      void tx.query("insert into t values (1)");
      void tx.query("select pg_sleep(5)");
      return Promise.resolve();
    },
    () => terminateSessions(db.driver, "active", /pg_sleep/),
  );
  assert.ok(error instanceof Error, String(error));
  await assertRecovered(db.driver);
});

Deno.test("[postgres] statements waiting behind a write the socket could not take at once never run once their session is ended", async () => {
  await using db = await openDb();
  // 4 MB is more than the socket takes at once: postgres.js keeps what follows waiting for
  // the connection, and would hand it to the next session when the connection reopens.
  const big = "x".repeat(4 << 20);
  const error = await lostTransaction(
    db.driver,
    async (tx) => {
      const slow = tx.query("select pg_sleep(5), length($1::text)", [big]);
      const inserts = [1, 2, 3].map((n) => tx.query("insert into t values ($1)", [n]));
      await Promise.all([slow, ...inserts]);
    },
    () => terminateSessions(db.driver, "active", /pg_sleep/),
  );
  assert.ok(error instanceof Error, String(error));
  // The next transaction reopens the connection: what waited must not run there.
  await hold(300);
  await assertRecovered(db.driver);
});

Deno.test("[postgres] a session ended during COMMIT fails the transaction, and the pool recovers", async () => {
  await using db = await openDb();
  // A deferred trigger runs at COMMIT: it holds the COMMIT open long enough to end it.
  await db.driver.query(`
    create function slow_commit() returns trigger language plpgsql as
      $$ begin perform pg_sleep(5); return null; end $$`);
  await db.driver.query(`
    create constraint trigger slow_commit after insert on t deferrable initially deferred
      for each row when (new.n = 42) execute function slow_commit()`);
  const error = await lostTransaction(
    db.driver,
    async (tx) => {
      await tx.query("insert into t values (42)");
    },
    () => terminateSessions(db.driver, "active", /^commit/i),
  );
  assert.ok(error instanceof Error, String(error));
  await assertRecovered(db.driver);
});

Deno.test("[postgres] a pool of one connection serves the next statement and the next transaction after its session was ended under a statement", async () => {
  await using db = await openDb();
  // One connection: whatever comes next must reopen the very connection that was lost.
  const driver = openPostgresDriver(db.url!, { max: 1 });
  try {
    for (const next of ["query", "transaction"] as const) {
      const error = await lostTransaction(
        driver,
        (tx) => tx.query("select pg_sleep(5)"),
        () => terminateSessions(db.driver, "active", /pg_sleep/),
      );
      assert.ok(error instanceof Error, String(error));
      const rows = next === "query"
        ? await driver.query<{ n: number }>("select count(*)::int as n from t")
        : await driver.transaction((tx) =>
          tx.query<{ n: number }>("select count(*)::int as n from t")
        );
      assert.deepEqual([...rows], [{ n: 0 }], `the next ${next}`);
    }
  } finally {
    await driver.close();
  }
});

Deno.test("[postgres] a pool of one connection serves transactions after the session of a plain statement was ended under it", async () => {
  await using db = await openDb();
  // postgres.js fails the next request to reopen this connection with the ended session's
  // FATAL. Transactions run on connections of their own (postgres_lanes.ts), and must not
  // take that FATAL, nor wait for the statements' pool.
  const driver = openPostgresDriver(db.url!, { max: 1 });
  try {
    // Not a plain SELECT: the driver would send that again on a new session, which would take
    // the FATAL instead.
    const sleeping = driver.query("with s as (select pg_sleep(5)) select 1 from s").then(
      () => assert.fail("the statement finished though its session was ended"),
      (error: unknown) => error,
    );
    await terminateSessions(db.driver, "active", /pg_sleep/);
    assert.ok(await sleeping instanceof Error);
    for (const n of [1, 2, 3]) {
      const value = await driver.transaction(async (tx) => {
        await tx.query("insert into t values ($1)", [n]);
        return n;
      });
      assert.equal(value, n);
    }
    const rows = await driver.query<{ n: number }>("select n from t order by n");
    assert.deepEqual(rows.map((r) => r.n), [1, 2, 3]);
  } finally {
    await driver.close();
  }
});
