/**
 * The pool of a real Postgres under more work than it has connections, as an overloaded
 * instance runs it: transactions and plain statements with parameters past the driver's
 * 1 KB write buffer, so its socket writes meet backpressure. postgres.js 3.4.9 hands a
 * reserved connection to a second reserver there (its socket's `drain`, and the moment
 * between a reservation's hand-over and its taking, both return the connection to the
 * pool), and a transaction's BEGIN can go out without its connection being reserved.
 */
import assert from "node:assert/strict";
import { openPostgresDriver } from "../../db/postgres_driver.ts";
import { openTestDb } from "../support/drivers.ts";

/** Past postgres.js's 1,024-byte write buffer: each statement is its own socket write. */
const BIG = "x".repeat(3000);

Deno.test("[postgres] transactions under contention each keep a session of their own, and every one commits", async () => {
  await using db = await openTestDb("postgres", { migrated: false });
  await db.driver.query("create table t (worker int, n int, body text)");
  const driver = openPostgresDriver(db.url!, { max: 2 });
  const holders = new Map<number, number>();
  const shared: string[] = [];
  const failures: string[] = [];
  let committed = 0;
  const until = performance.now() + 3000;
  const worker = async (w: number) => {
    for (let n = 0; performance.now() < until; n++) {
      if (w % 3 !== 0) {
        await driver.query("select length($1::text) as n", [BIG]);
        continue;
      }
      try {
        await driver.transaction(async (tx) => {
          const [{ pid }] = await tx.query<{ pid: number }>("select pg_backend_pid() as pid");
          if (holders.has(pid)) shared.push(`workers ${holders.get(pid)} and ${w} on ${pid}`);
          holders.set(pid, w);
          try {
            void tx.query("insert into t values ($1, $2, $3)", [w, n, BIG]);
            await tx.query("select length($1::text) as n", [BIG]);
          } finally {
            if (holders.get(pid) === w) holders.delete(pid);
          }
        });
        committed++;
      } catch (error) {
        failures.push(String(error));
      }
    }
  };
  try {
    const work = Promise.all(Array.from({ length: 150 }, (_, w) => worker(w)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<"stuck">((resolve) => timer = setTimeout(resolve, 20_000, "stuck"));
    const outcome = await Promise.race([work.then(() => "done" as const), stuck]);
    clearTimeout(timer);
    assert.equal(outcome, "done", "every statement and transaction was answered");
    assert.deepEqual(shared.slice(0, 3), [], "no session held by two transactions at once");
    assert.deepEqual(failures.slice(0, 3), [], "no transaction failed");
    assert.ok(committed > 100, `${committed} transactions`);
    const [{ rows }] = await db.driver.query<{ rows: number }>(
      "select count(*)::int as rows from t",
    );
    assert.equal(rows, committed, "each committed transaction's row, once");
  } finally {
    await driver.close();
  }
});
