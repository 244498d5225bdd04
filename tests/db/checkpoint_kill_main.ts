/**
 * Writes rows in small transactions into the embedded database at the first argument while
 * its driver checkpoints every 1MB of WAL, until at least three checkpoints have passed and
 * more rows are written past the last one; then prints the rows committed and the redo point
 * as JSON and waits to be killed. Run by tests/db/pglite_maintenance_test.ts.
 */
import { openPgliteDriver } from "../../db/pglite_driver.ts";

const db = await openPgliteDriver(Deno.args[0], undefined, {
  maintenance: { checkpointEveryMs: 20, checkpointWalBytes: 2 ** 20, vacuumEveryMs: 3_600_000 },
});
await db.query("create table kept (n int primary key, pad text)");
const redo = async () =>
  (await db.query<{ redo: string }>("select redo_lsn::text as redo from pg_control_checkpoint()"))[
    0
  ]
    .redo;
const redos = new Set([await redo()]);
let rows = 0;
let afterLast = 0;
const giveUpAt = Date.now() + 30_000;
while (redos.size < 4 || afterLast < 2_000) {
  if (Date.now() > giveUpAt) {
    console.log(JSON.stringify({ error: `only ${redos.size - 1} checkpoints in 30 s` }));
    Deno.exit(1);
  }
  await db.query(
    "insert into kept select g, repeat('x', 200) from generate_series($1::int, $1::int + 99) g",
    [rows + 1],
  );
  rows += 100;
  const now = await redo();
  afterLast = redos.has(now) ? afterLast + 100 : 0;
  redos.add(now);
  await new Promise((resume) => setTimeout(resume, 0));
}
console.log(JSON.stringify({ rows, redo: await redo() }));
await new Promise(() => {});
