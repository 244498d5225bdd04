/**
 * The tests' `walEnd()` on real Postgres, at the position that once failed CI: the last
 * record ending on a page boundary, where the insert position counts a header no flush
 * reaches while the cluster is idle.
 */
import assert from "node:assert/strict";
import { parseLsn } from "../../../sync/replication/lsn.ts";
import { eventually } from "../../support/eventually.ts";
import { openReplicationDb, walEnd } from "./support.ts";

Deno.test("walEnd() at a page boundary is where the flush stops, not past the next page's header", async () => {
  await using db = await openReplicationDb();
  const insertAt = async () => {
    const [row] = await db.driver.query<{ lsn: string }>(
      "select pg_current_wal_insert_lsn()::text as lsn",
    );
    return parseLsn(row.lsn);
  };
  // Small WAL records until one ends where the next page begins (a few hundred, here).
  let at = await insertAt();
  for (let i = 0; at % 8192n !== 24n; i++) {
    assert.ok(i < 20_000, "no record ended on a page boundary");
    await db.driver.query("select pg_logical_emit_message(false, 'wal-end-test', 'x')");
    at = await insertAt();
  }
  const end = await walEnd(db.driver);
  assert.equal(end, at - 24n, "the page header is not counted");
  await eventually(
    async () => {
      const [row] = await db.driver.query<{ lsn: string }>(
        "select pg_current_wal_flush_lsn()::text as lsn",
      );
      return parseLsn(row.lsn) >= end;
    },
    5_000,
    "the WAL flushed up to walEnd()",
  );
});
