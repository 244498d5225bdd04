import assert from "node:assert/strict";
import { openPgliteDriver } from "../../db/pglite_driver.ts";
import { checkpointIfBehind } from "../../db/pglite_checkpoints.ts";
import type { Queryable } from "../../db/driver.ts";

const MB = 2 ** 20;

/** WAL written since the last checkpoint's redo point: what a restart after a kill replays. */
async function walBehind(db: Queryable): Promise<number> {
  const [{ behind }] = await db.query<{ behind: number }>(
    `select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::float8 as behind
     from pg_control_checkpoint()`,
  );
  return behind;
}

/** About `mb` MB of WAL in small transactions, letting timers run between them as a server does. */
async function writeWal(db: Queryable, mb: number): Promise<void> {
  const [{ start }] = await db.query<{ start: string }>(
    "select pg_current_wal_insert_lsn()::text as start",
  );
  for (;;) {
    await db.query("insert into filler select g, repeat('x', 200) from generate_series(1, 500) g");
    await new Promise((resume) => setTimeout(resume, 0));
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
    checkpoints: { everyMs: 20, walBytes: MB },
  });
  try {
    await db.query("create table filler (n int, pad text)");

    await t.step(
      "WAL since the last checkpoint stays near the threshold while 8MB is written",
      async () => {
        let most = 0;
        for (let i = 0; i < 8; i++) {
          await writeWal(db, 1);
          most = Math.max(most, await walBehind(db));
        }
        // Without checkpoints it would be 8MB and more; a tick comes every 20 ms.
        assert.ok(most < 4 * MB, `WAL behind the last checkpoint reached ${most} bytes`);
      },
    );

    await t.step("a transaction that spans many ticks still commits whole", async () => {
      await db.transaction(async (tx) => {
        await tx.query("insert into filler values (-1, 'first')");
        await new Promise((resume) => setTimeout(resume, 100));
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
  const db = await openPgliteDriver(undefined, undefined, {
    checkpoints: { everyMs: 3_600_000, walBytes: Number.MAX_SAFE_INTEGER },
  });
  try {
    await db.query("create table filler (n int, pad text)");
    await db.query("insert into filler select g, repeat('x', 200) from generate_series(1, 5000) g");
    const before = await walBehind(db);
    assert.ok(before > MB, `the insert wrote ${before} bytes of WAL`);

    assert.equal(await checkpointIfBehind(db, 2 * before), false);
    assert.ok(await walBehind(db) >= before);

    assert.equal(await checkpointIfBehind(db, MB), true);
    assert.ok(await walBehind(db) < 64 * 1024, "a checkpoint moves the redo point to the end");
  } finally {
    await db.close();
  }
});
