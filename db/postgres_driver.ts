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
    query: <T>(text: string, params: unknown[] = []) =>
      onceMoreIfNeverRun(() => send<T>(sql, text, params), { rereadable: READ_ONLY.test(text) }),
    transaction: (fn, options) => {
      let ran = false;
      return onceMoreIfNeverRun(
        () => transaction(sql, (tx) => (ran = true, fn(tx)), options),
        { unsent: () => !ran },
      );
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * Runs `attempt` a second time when it failed with a FATAL server error and `unsent` holds:
 * such an error reaches only a statement that never ran. A session ended under statements in
 * flight fails them with CONNECTION_CLOSED; its FATAL goes to a statement waiting for that
 * connection to open again (postgres.js keeps the old session's error and fails the new
 * session's first statement with it), or to one whose connection could not be opened.
 *
 * A `rereadable` statement (it writes nothing) runs again after its connection was lost
 * too: a statement written to an idle connection the server has just ended (a restart, a
 * failover) fails with ECONNRESET, though it never ran.
 */
async function onceMoreIfNeverRun<T>(
  attempt: () => Promise<T>,
  { unsent = () => true, rereadable = false }: { unsent?: () => boolean; rereadable?: boolean },
): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
    const neverRan = severity === "FATAL" && unsent();
    const lost = LOST_CONNECTION.has(code as string) || RESET_CONNECTION.has(code as string);
    if (!neverRan && !(rereadable && lost)) throw error;
    return await attempt();
  }
}

/**
 * A statement that writes nothing a second run could repeat: a SELECT's only effects are
 * its session's (an advisory lock, a heartbeat message), which a lost session takes along.
 */
const READ_ONLY = /^\s*select\b/i;

/**
 * A transaction whose COMMIT goes out right behind its last statements: statements that
 * `fn` sends and does not await are pipelined with the COMMIT (one round trip instead of
 * two) and still waited for before the transaction settles.
 *
 * must: nothing goes on the transaction's connection once its session is lost (the server
 * ended it, or the network did). postgres.js writes a statement sent on a closed connection
 * from a timer that throws (its socket is null): an uncaught TypeError that ends the
 * process. It would send one itself, ROLLBACK or COMMIT, as soon as `fn` settles; so once the
 * session is lost `fn`'s outcome is withheld from it. The transaction fails at once all the
 * same: sql.begin rejects as soon as its connection closes.
 */
async function transaction<T>(
  sql: postgres.Sql,
  fn: (tx: Queryable) => Promise<T>,
  { isolation }: TransactionOptions = {},
): Promise<T> {
  const sent: Promise<unknown>[] = [];
  let lost = false;
  // sql.begin, not sql.reserve: it keeps the pool sound when the connection drops mid-way.
  // The isolation level travels in the BEGIN statement itself: no extra round trip.
  const begun = sql.begin(
    isolation ? `isolation level ${isolation}` : "",
    async (connection) => {
      const tx: Queryable = {
        query: <R>(text: string, params: unknown[] = []) => {
          const rows = lost
            ? Promise.reject<R[]>(sessionLost())
            : send<R>(connection, text, params);
          sent.push(rows);
          // Marked handled here: a failure is reported once, below.
          rows.catch((error) => lost ||= endsSession(error));
          return rows;
        },
      };
      const outcome = await fn(tx).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      // Never settles: sql.begin would answer either outcome on the closed connection.
      if (lost) return new Promise<never>(() => {});
      if ("error" in outcome) throw outcome.error;
      return outcome.value;
    },
  );
  // Settled while `fn` may still run only when the connection closed under it; once settled
  // for any reason, the connection is no longer this transaction's.
  begun.catch(() => {}).finally(() => lost = true);
  const value = await begun;
  // must: check every statement after COMMIT. sql.begin sends COMMIT once fn returns, behind
  // the statements fn did not await, on the same connection; if one of them failed, the
  // server answered that COMMIT with a rollback, and its failure is thrown here.
  await Promise.all(sent);
  return value as T;
}

/** postgres.js's errors for a connection that is gone; the server's are FATAL or PANIC. */
const LOST_CONNECTION = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED"]);
/** The socket's errors for a connection the server closed under a write or a read. */
const RESET_CONNECTION = new Set(["ECONNRESET", "EPIPE"]);

/** Whether `error` means the statement's session is over (no ROLLBACK can reach it). */
function endsSession(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return LOST_CONNECTION.has(code as string) || severity === "FATAL" || severity === "PANIC";
}

/** The failure of a statement `fn` sends after its session was lost: it is never sent. */
function sessionLost(): Error {
  return Object.assign(new Error("The transaction's database session was lost"), {
    code: "CONNECTION_CLOSED",
  });
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
