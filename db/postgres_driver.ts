import postgres from "postgres";
import type { Driver } from "./driver.ts";
import { type PoolOptions, TransactionLanes } from "./postgres_lanes.ts";
import { onceMoreIfNeverRun, READ_ONLY, send } from "./postgres_session.ts";

/**
 * Opens a postgres.js pool of `max` connections to a Postgres server for statements, and
 * `max` connections of their own for transactions (postgres_lanes.ts).
 */
export function openPostgresDriver(url: string, options: { max?: number } = {}): Driver {
  const max = options.max ?? 10;
  const shared: PoolOptions = {
    onnotice: () => {},
    types: {
      // int8 as JS numbers: sequence numbers stay far below 2^53.
      int8: { to: 20, from: [20], serialize: String, parse: Number },
      // The store passes jsonb parameters as JSON text, exactly as PGlite takes them.
      jsonb: { to: 3802, from: [114, 3802], serialize: String, parse: JSON.parse },
    },
    connection: { application_name: "devpocket-sync" },
  };
  const sql = postgres(url, { ...shared, max });
  const lanes = new TransactionLanes(url, shared, max);
  return {
    kind: "postgres",
    query: <T>(text: string, params: unknown[] = []) =>
      onceMoreIfNeverRun(() => send<T>(sql, text, params), { rereadable: READ_ONLY.test(text) }),
    transaction: (fn, options = {}) => lanes.run(fn, options),
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), lanes.close()]);
    },
  };
}
