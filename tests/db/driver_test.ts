import assert from "node:assert/strict";
import { withDrivers } from "../support/drivers.ts";

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
