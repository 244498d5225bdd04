import postgres from "postgres";
import type { Driver, Queryable, TransactionOptions } from "./driver.ts";

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
  return {
    kind: "postgres",
    query: <T>(text: string, params: unknown[] = []) => send<T>(sql, text, params),
    transaction: (fn, options) => transaction(sql, fn, options),
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * A transaction whose COMMIT goes out right behind its last statements: statements that
 * `fn` sends and does not await are pipelined with the COMMIT (one round trip instead of
 * two) and still waited for before the transaction settles.
 */
async function transaction<T>(
  sql: postgres.Sql,
  fn: (tx: Queryable) => Promise<T>,
  { isolation }: TransactionOptions = {},
): Promise<T> {
  const sent: Promise<unknown>[] = [];
  // sql.begin, not sql.reserve: it keeps the pool sound when the connection drops mid-way.
  // The isolation level travels in the BEGIN statement itself: no extra round trip.
  const value = await sql.begin(
    isolation ? `isolation level ${isolation}` : "",
    (connection) =>
      fn({
        query: <R>(text: string, params: unknown[] = []) => {
          const rows = send<R>(connection, text, params);
          sent.push(rows);
          // Marked handled here: a failure is reported once, below.
          rows.catch(() => {});
          return rows;
        },
      }),
  );
  // must: check every statement after COMMIT. sql.begin sends COMMIT once fn returns, behind
  // the statements fn did not await, on the same connection; if one of them failed, the
  // server answered that COMMIT with a rollback, and its failure is thrown here.
  await Promise.all(sent);
  return value as T;
}

/**
 * Sends one statement now (queries of postgres.js otherwise wait for their first `then`), so
 * statements go out in call order and pipelined ones share a network write.
 */
function send<T>(
  runner: postgres.Sql | postgres.TransactionSql,
  text: string,
  params: unknown[],
): Promise<T[]> {
  // Prepared: one round trip per statement instead of two, and the server keeps the plan.
  // deno-lint-ignore no-explicit-any
  return runner.unsafe(text, params as any[], { prepare: true }).execute() as unknown as Promise<
    T[]
  >;
}
