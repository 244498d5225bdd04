import assert from "node:assert/strict";
import { MemoryFS, PGlite } from "@electric-sql/pglite";
import { openTestDb, withDrivers } from "../support/drivers.ts";
import { retryOnceIfTransient, sqlState, type TransactionOptions } from "../../db/driver.ts";
import { openPostgresDriver } from "../../db/postgres_driver.ts";
import { startUrlProxy } from "../support/tcp_proxy.ts";

withDrivers("Driver.transaction()", (open) => {
  Deno.test({
    name: "fails and writes nothing when a statement it did not await fails",
    fn: async () => {
      await using db = await open();
      await db.driver.query("create table t (n int primary key)");
      await assert.rejects(
        db.driver.transaction((tx) => {
          void tx.query("insert into t values (1)");
          void tx.query("insert into t values (1)"); // duplicate key
          return Promise.resolve("done");
        }),
        /duplicate key/,
      );
      assert.deepEqual([...await db.driver.query("select n from t")], []);
    },
  });

  Deno.test({
    name: "commits statements it did not await, in the order they were sent",
    fn: async () => {
      await using db = await open();
      await db.driver.query("create table t (n int primary key, at serial)");
      const value = await db.driver.transaction((tx) => {
        for (const n of [3, 1, 2]) void tx.query("insert into t (n) values ($1)", [n]);
        return Promise.resolve("done");
      });
      assert.equal(value, "done");
      const rows = await db.driver.query<{ n: number }>("select n from t order by at");
      assert.deepEqual(rows.map((r) => r.n), [3, 1, 2]);
    },
  });
});

withDrivers("Driver.transaction()", (open) => {
  Deno.test({
    name: "answers the statements before a failed one, runs none behind it, and writes nothing",
    fn: async () => {
      await using db = await open();
      await db.driver.query("create table t (n int primary key)");
      const settled: PromiseSettledResult<unknown>[] = [];
      await assert.rejects(
        db.driver.transaction(async (tx) => {
          const sent = [1, 1, 2].map((n) => tx.query("insert into t values ($1)", [n]));
          settled.push(...await Promise.allSettled(sent));
          return "done";
        }),
        /duplicate key/,
      );
      assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "rejected", "rejected"]);
      assert.deepEqual([...await db.driver.query("select n from t")], []);
    },
  });

  Deno.test({
    name: "fails when COMMIT refuses a deferred constraint, and the next one runs",
    fn: async () => {
      await using db = await open();
      await db.driver.query(
        "create table t (n int, constraint t_n unique (n) deferrable initially deferred)",
      );
      await assert.rejects(
        db.driver.transaction((tx) => {
          void tx.query("insert into t values ($1)", [1]);
          void tx.query("insert into t values ($1)", [1]);
          return Promise.resolve();
        }),
        (error) => sqlState(error) === "23505",
      );
      await db.driver.transaction(async (tx) => {
        await tx.query("insert into t values ($1)", [2]);
      });
      assert.deepEqual([...await db.driver.query("select n from t")], [{ n: 2 }]);
    },
  });

  Deno.test({
    name: "rolls back what it sent when its function throws",
    fn: async () => {
      await using db = await open();
      await db.driver.query("create table t (n int primary key)");
      await assert.rejects(
        db.driver.transaction(async (tx) => {
          await tx.query("insert into t values ($1)", [1]);
          void tx.query("insert into t values ($1)", [2]);
          throw new Error("Planned failure");
        }),
        /Planned failure/,
      );
      assert.deepEqual([...await db.driver.query("select n from t")], []);
    },
  });

  Deno.test({
    name: "keeps the order of statements with and without parameters, DDL among them",
    fn: async () => {
      await using db = await open();
      await db.driver.query("create table t (n int primary key, at serial)");
      const seen = await db.driver.transaction(async (tx) => {
        void tx.query("insert into t (n) values ($1)", [1]);
        void tx.query("create index t_at on t (at)");
        void tx.query("insert into t (n) values (2)");
        const rows = await tx.query<{ n: number }>("select n from t order by at");
        void tx.query("insert into t (n) values ($1)", [3]);
        return rows.map((r) => r.n);
      });
      assert.deepEqual(seen, [1, 2]);
      const rows = await db.driver.query<{ n: number }>("select n from t order by at");
      assert.deepEqual(rows.map((r) => r.n), [1, 2, 3]);
    },
  });
});

Deno.test("[pglite] Driver.transaction() sends BEGIN with the first statements and COMMIT with the last ones", async () => {
  await using db = await openTestDb("pglite");
  await db.driver.query("create table t (n int primary key)");
  await db.driver.query("insert into t values ($1)", [0]);
  const push = () =>
    db.driver.transaction(async (tx) => {
      const [[head], rows] = await Promise.all([
        tx.query<{ n: number }>("select n from t where n = 0 for update"),
        tx.query("select n from t"),
      ]);
      void tx.query("insert into t values ($1)", [head.n + rows.length]);
      void tx.query("insert into t values ($1)", [-rows.length]);
    }, { isolation: "read committed" });
  // The first run also prepares each statement, in a pass of its own.
  await push();
  const passes = countPasses();
  try {
    await push();
  } finally {
    passes.restore();
  }
  // A pass is one call into PGlite's WebAssembly: the reads with BEGIN, the writes with COMMIT.
  assert.equal(passes.count(), 2);
  const rows = await db.driver.query<{ n: number }>("select n from t order by n");
  assert.deepEqual(rows.map((r) => r.n), [-3, -1, 0, 1, 3]);
});

Deno.test("[postgres] Driver.transaction() sends BEGIN with the first statements and COMMIT with the last ones", async () => {
  await using db = await openTestDb("postgres", { migrated: false });
  await db.driver.query("create table t (n int primary key)");
  await db.driver.query("insert into t values ($1)", [0]);
  await using proxy = startUrlProxy(db.url!);
  // One connection: every transaction reuses the statements the first one prepared.
  const driver = openPostgresDriver(proxy.url, { max: 1 });
  try {
    const push = () =>
      driver.transaction(async (tx) => {
        const [[head], rows] = await Promise.all([
          tx.query<{ n: number }>("select n from t where n = $1 for update", [0]),
          tx.query("select n from t"),
        ]);
        void tx.query("insert into t values ($1)", [head.n + rows.length]);
        void tx.query("insert into t values ($1)", [-rows.length]);
      }, { isolation: "read committed" });
    // The first run also opens the connection and describes each statement.
    await push();
    const before = proxy.clientWrites();
    await push();
    // BEGIN goes out with the reads, COMMIT with the writes: the client writes twice.
    assert.equal(proxy.clientWrites() - before, 2);
  } finally {
    await driver.close();
  }
  const rows = await db.driver.query<{ n: number }>("select n from t order by n");
  assert.deepEqual(rows.map((r) => r.n), [-3, -1, 0, 1, 3]);
});

Deno.test("[pglite] the file systems the driver opens PGlite on have nothing to sync after a query", async () => {
  // The driver skips PGlite's syncToFs on every pass; that is only sound while a database in
  // a directory (NodeFS, whose writes reach the files as Postgres makes them) syncs exactly
  // as much as one in memory: not at all.
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-driver-fs-" });
  try {
    await using onDisk = await PGlite.create({ dataDir });
    await using inMemory = await PGlite.create();
    assert.ok(inMemory.fs instanceof MemoryFS && onDisk.fs && !(onDisk.fs instanceof MemoryFS));
    assert.equal(onDisk.fs.syncToFs, inMemory.fs.syncToFs);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("[pglite] the embedded Postgres keeps a 16MB buffer pool", async () => {
  // PGlite's WebAssembly memory only grows, and the pool is resident for good: the service's
  // RSS under load is held to 256MB (bench/mixed_memory.ts).
  await using db = await openTestDb("pglite");
  const [{ shared_buffers }] = await db.driver.query<{ shared_buffers: string }>(
    "show shared_buffers",
  );
  assert.equal(shared_buffers, "16MB");
});

/** Counts calls into PGlite (each runs its WebAssembly over one wire message). */
function countPasses(): { count(): number; restore(): void } {
  const proto = PGlite.prototype;
  const original = proto.execProtocolRawSync;
  let count = 0;
  proto.execProtocolRawSync = function (message: Uint8Array) {
    count++;
    return original.call(this, message);
  };
  return { count: () => count, restore: () => proto.execProtocolRawSync = original };
}

withDrivers("Driver.transaction()", (open, kind) => {
  Deno.test({
    name: "runs at read committed when asked, whatever the session's default isolation",
    fn: async () => {
      await using db = await open();
      let driver = db.driver;
      if (kind === "postgres") {
        const name = new URL(db.url!).pathname.slice(1);
        await db.driver.query(
          `alter database ${name} set default_transaction_isolation = 'serializable'`,
        );
        // A fresh pool: every connection starts with the database's new default.
        driver = openPostgresDriver(db.url!, { max: 2 });
      } else {
        // The embedded database is one session: set its default directly.
        await db.driver.query("set default_transaction_isolation = 'serializable'");
      }
      try {
        const level = (options?: TransactionOptions) =>
          driver.transaction(async (tx) => {
            const [row] = await tx.query<{ transaction_isolation: string }>(
              "show transaction_isolation",
            );
            return row.transaction_isolation;
          }, options);
        assert.equal(await level(), "serializable");
        assert.equal(await level({ isolation: "read committed" }), "read committed");
      } finally {
        if (driver !== db.driver) await driver.close();
      }
    },
  });
});

withDrivers("retryOnceIfTransient()", (open) => {
  Deno.test({
    name: "runs again once after a real 40P01 or 40001, never after other errors or twice",
    fn: async () => {
      await using db = await open();
      const failing = (states: string[]) => {
        let calls = 0;
        const run = async () => {
          const state = states[calls++];
          if (state) {
            await db.driver.query(
              `do $$ begin raise exception 'x' using errcode = '${state}'; end $$`,
            );
          }
          return calls;
        };
        return { run, calls: () => calls };
      };
      for (const transient of ["40P01", "40001"]) {
        const once = failing([transient]);
        assert.equal(await retryOnceIfTransient(once.run), 2);
        const twice = failing([transient, transient]);
        await assert.rejects(retryOnceIfTransient(twice.run), (e) => sqlState(e) === transient);
        assert.equal(twice.calls(), 2);
      }
      const other = failing(["23505"]);
      await assert.rejects(retryOnceIfTransient(other.run), (e) => sqlState(e) === "23505");
      assert.equal(other.calls(), 1);
    },
  });
});
