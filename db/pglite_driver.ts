import { PGlite } from "@electric-sql/pglite";
import type { Driver, Queryable } from "./driver.ts";

/** Opens the embedded Postgres in `dataDir` (in memory when `dataDir` is undefined). */
export async function openPgliteDriver(dataDir?: string): Promise<Driver> {
  if (dataDir) await Deno.mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const run = (runner: Pick<PGlite, "query">): Queryable => ({
    query: async <T>(text: string, params: unknown[] = []) =>
      (await runner.query<T>(text, params)).rows,
  });
  return {
    kind: "pglite",
    ...run(db),
    transaction: (fn, { isolation } = {}) =>
      db.transaction(async (tx) => {
        if (isolation) await tx.query(`set transaction isolation level ${isolation}`);
        const sent: Promise<unknown>[] = [];
        const value = await fn({
          query: <T>(text: string, params: unknown[] = []) => {
            const rows = run(tx).query<T>(text, params);
            sent.push(rows);
            // Marked handled here: a failure is reported once, by the transaction.
            rows.catch(() => {});
            return rows;
          },
        });
        await Promise.all(sent);
        return value;
      }),
    close: () => db.close(),
  };
}
