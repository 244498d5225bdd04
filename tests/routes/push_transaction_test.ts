import assert from "node:assert/strict";
import postgres from "postgres";
import { openTestApp } from "../support/app.ts";
import { openTestDb } from "../support/drivers.ts";
import { change, command } from "../support/changes.ts";
import { eventually } from "../support/eventually.ts";
import { outcome, pullAll, pushOk } from "../support/sync_api.ts";
import { openPostgresDriver } from "../../db/postgres_driver.ts";
import { migrate } from "../../db/migrate.ts";

// Real Postgres only: the embedded database has one connection, so no two transactions
// ever wait on each other there.

Deno.test({
  name:
    "[postgres] push a batch chosen as a deadlock victim is retried once and answers 200 (real induced deadlock)",
  fn: async () => {
    await using t = await openTestApp("postgres");
    const d = await t.device("alice");
    await pushOk(t, d.token, [change("settings", "ui", { theme: "dark" })]);
    const other = postgres(t.db.url!, { max: 2, onnotice: () => {} });
    try {
      const b = await other.reserve();
      await b`begin`;
      // The push's session keeps the default deadlock_timeout (1 s): it waits first, so it
      // is the one that finds the deadlock and is cancelled.
      await b`set local deadlock_timeout = '30s'`;
      await b`update items set updated_at = now() where collection = 'settings' and id = 'ui'`;
      const pushed = pushOk(t, d.token, [
        change("settings", "ui", { theme: "light" }, { base_version: 1 }),
        command("ls"),
      ]);
      await eventually(
        async () => {
          const [{ n }] = await other`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and application_name = 'devpocket-sync'
            and wait_event_type = 'Lock'`;
          return n > 0;
        },
        10_000,
        "the push to wait on the item row",
      );
      // Returns only once the push's transaction gave up the user's row: it was cancelled,
      // since it could not commit while waiting on this transaction's item row.
      await b`select seq from users where user_id = 'alice' for update`;
      await b`rollback`;
      b.release();
      const { results } = await pushed;
      assert.deepEqual(results.map((r) => [outcome(r), r.version]), [["applied", 2], [
        "applied",
        1,
      ]]);
      const ui = (await pullAll(t, d.token)).find((i) => i.id === "ui");
      assert.deepEqual(ui?.data, { theme: "light" });
    } finally {
      await other.end();
    }
  },
});

Deno.test({
  name: "[postgres] push runs at read committed even where the database defaults to serializable",
  fn: async () => {
    const db = await openTestDb("postgres", { migrated: false });
    await db.driver.query(
      `alter database ${
        new URL(db.url!).pathname.slice(1)
      } set default_transaction_isolation = 'serializable'`,
    );
    // A new pool, so every connection starts with the database's new default.
    await db.driver.close();
    const driver = openPostgresDriver(db.url!, { max: 5 });
    await migrate(driver);
    await using t = await openTestApp("postgres", { db: { ...db, driver } });
    const d = await t.device("alice");
    const batches = Array.from({ length: 8 }, (_, i) => [command(`echo ${i}`)]);
    const answers = await Promise.all(
      batches.map((changes) =>
        t.request("POST", "/api/sync/data", { token: d.token, body: { changes } })
      ),
    );
    assert.deepEqual(answers.map((r) => r.status), batches.map(() => 200));
    assert.equal((await pullAll(t, d.token)).length, 8);
  },
});

Deno.test({
  name:
    "[postgres] a push whose database session is ended mid-transaction answers 500 INTERNAL, and its retry stores the batch once",
  fn: async () => {
    await using t = await openTestApp("postgres");
    const d = await t.device("alice");
    await pushOk(t, d.token, [change("settings", "ui", { theme: "dark" })]);
    const batch = [
      change("settings", "ui", { theme: "light" }, { base_version: 1 }),
      command("ls"),
    ];
    const other = postgres(t.db.url!, { max: 2, onnotice: () => {} });
    try {
      const b = await other.reserve();
      await b`begin`;
      await b`select seq from users where user_id = 'alice' for update`;
      const answer = t.request("POST", "/api/sync/data", {
        token: d.token,
        body: { changes: batch },
      });
      // The push waits for the user's lock, its first statement, which it awaits inside its
      // transaction: that is where it is ended.
      await eventually(
        async () => {
          const [{ n }] = await other`select count(pg_terminate_backend(pid))::int as n
            from pg_stat_activity
           where datname = current_database() and application_name = 'devpocket-sync'
             and wait_event_type = 'Lock'`;
          return n > 0;
        },
        10_000,
        "the push to wait for the user's lock",
      );
      const response = await answer;
      assert.equal(response.status, 500);
      assert.equal((await response.json()).error.code, "INTERNAL");
      await b`rollback`;
      b.release();
    } finally {
      await other.end();
    }
    const { results } = await pushOk(t, d.token, batch);
    assert.deepEqual(results.map((r) => [outcome(r), r.version]), [["applied", 2], ["applied", 1]]);
    const items = await pullAll(t, d.token);
    assert.deepEqual(items.map((i) => [i.collection, i.version]).sort(), [
      ["commands", 1],
      ["settings", 2],
    ]);
    assert.deepEqual(items.find((i) => i.id === "ui")?.data, { theme: "light" });
  },
});
