import postgres from "postgres";
import type { Driver, Queryable } from "./driver.ts";

/** Opens a pooled postgres.js connection to a Postgres server. */
export function openPostgresDriver(url: string, options: { max?: number } = {}): Driver {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    types: {
      // int8 as JS numbers: sequence numbers stay far below 2^53.
      int8: { to: 20, from: [20], serialize: String, parse: Number },
      // The store passes jsonb parameters as JSON text, exactly as PGlite takes them.
      jsonb: { to: 3802, from: [114, 3802], serialize: String, parse: JSON.parse },
    },
    connection: { application_name: "devpocket-sync" },
  });
  const run = (runner: postgres.Sql | postgres.TransactionSql): Queryable => ({
    query: async <T>(text: string, params: unknown[] = []) =>
      // Prepared: one round trip per statement instead of two, and the server keeps the plan.
      // deno-lint-ignore no-explicit-any
      (await runner.unsafe(text, params as any[], { prepare: true })) as unknown as T[],
  });
  return {
    kind: "postgres",
    ...run(sql),
    transaction: (fn) => sql.begin((tx) => fn(run(tx))) as never,
    close: () => sql.end({ timeout: 5 }),
  };
}
