import assert from "node:assert/strict";
import { withDrivers } from "../support/drivers.ts";
import { retryOnceIfTransient, sqlState, type TransactionOptions } from "../../db/driver.ts";
import { openPostgresDriver } from "../../db/postgres_driver.ts";

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
