/** A fresh migrated Postgres database with a slot name of its own (slots are cluster-wide). */
import { openTestDb, type TestDb } from "../../tests/support/drivers.ts";
import { waitFor } from "./stats.ts";

export interface BenchDb extends AsyncDisposable {
  db: TestDb;
  url: string;
  /** Unique slot (and publication) name for this database. */
  slot: string;
}

/**
 * Disposing drops the slots named `slot*` once their walsenders exited, then the database.
 *
 * The throwaway cluster runs `synchronous_commit=off` (fast tests); a logical walsender
 * only sends flushed WAL, so every change would then wait for the WAL writer (up to
 * `wal_writer_delay`, 200 ms). This database gets the server default, `on`, as a
 * production database has it; `fsync=off` keeps the flush itself cheap.
 */
export async function openBenchDb(): Promise<BenchDb> {
  const db = await openTestDb("postgres");
  const [{ name }] = await db.driver.query<{ name: string }>("select current_database() as name");
  await db.driver.query(`alter database "${name}" set synchronous_commit = on`);
  const slot = `bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  return {
    db,
    url: db.url!,
    slot,
    async [Symbol.asyncDispose]() {
      try {
        // A stopped consumer's walsender can take a moment to exit; bounded.
        await waitFor(
          async () => {
            const rows = await db.driver.query<{ slot_name: string; active: boolean }>(
              "select slot_name, active from pg_replication_slots where slot_name like $1",
              [`${slot}%`],
            );
            for (const row of rows.filter((r) => !r.active)) {
              await db.driver.query("select pg_drop_replication_slot($1)", [row.slot_name]);
            }
            return rows.every((r) => !r.active);
          },
          10_000,
          100,
        );
      } finally {
        await db[Symbol.asyncDispose]();
      }
    },
  };
}
