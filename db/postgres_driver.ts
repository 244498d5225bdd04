import postgres from "postgres";
import type { Driver, Queryable, TransactionOptions } from "./driver.ts";

/** Opens a pooled postgres.js connection to a Postgres server. */
export function openPostgresDriver(url: string, options: { max?: number } = {}): Driver {
  const open = () =>
    postgres(url, {
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
  let sql = open();
  const retiring = new Set<Promise<void>>();
  /**
   * must: a pool whose `reserve()` failed with a FATAL error is replaced. postgres.js 3.4.9
   * keeps the FATAL of a session ended under a statement and fails the next request that
   * reopens that connection with it. When that request is a `reserve()`, the request also
   * stays in the pool's queue, and the reopened connection is handed to it, already failed,
   * and never comes back: each time, the pool has one connection fewer. The old pool
   * finishes what it runs (at most a few seconds) and closes.
   */
  const reserve = () =>
    sql.reserve().catch((error) => {
      if ((error as { severity?: unknown })?.severity === "FATAL") {
        const ending = sql.end({ timeout: 5 });
        retiring.add(ending);
        void ending.finally(() => retiring.delete(ending));
        sql = open();
      }
      throw error;
    });
  return {
    kind: "postgres",
    query: <T>(text: string, params: unknown[] = []) =>
      onceMoreIfNeverRun(() => send<T>(sql, text, params), { rereadable: READ_ONLY.test(text) }),
    transaction: (fn, options) => {
      let reserved = false;
      return onceMoreIfNeverRun(async () => {
        const connection = await reserve();
        reserved = true;
        return await transaction(connection, fn, options);
      }, { unsent: () => !reserved });
    },
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), ...retiring]);
    },
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
 * A transaction on a connection of its own, pipelined at both ends: BEGIN goes out with the
 * first statements and COMMIT right behind the last ones (statements `fn` sends and does not
 * await), so a transaction of a read and a write makes two round trips, not four.
 * `sql.begin` would wait for BEGIN's answer before `fn` could send anything. The transaction
 * waits for every statement before it settles, and then releases the connection.
 *
 * must: nothing goes on the connection once its session is lost (the server ended it, or the
 * network did). postgres.js would write such a statement from a timer that throws (its socket
 * is null), an uncaught TypeError that ends the process; and once the pool reopens the
 * connection for another caller, the statement would run in that caller's session. So the
 * connection's close is watched from the moment BEGIN is handed to it, nothing is sent after
 * it, the connection is left to the pool (which reopens it) rather than released, and the
 * transaction fails at once.
 */
async function transaction<T>(
  reserved: postgres.ReservedSql,
  fn: (tx: Queryable) => Promise<T>,
  { isolation }: TransactionOptions = {},
): Promise<T> {
  const sent: Promise<unknown>[] = [];
  const closed = Promise.withResolvers<never>();
  closed.promise.catch(() => {});
  let lost = false;
  let connection: PoolConnection | undefined;
  const track = <R>(rows: Promise<R[]>): Promise<R[]> => {
    sent.push(rows);
    // Marked handled here: a failure is reported once, below.
    rows.catch((error) => lost ||= endsSession(error));
    return rows;
  };
  const watch = (c: PoolConnection) => {
    connection = c;
    // The pool calls it, once, as the connection closes (postgres.js's sql.begin does the same).
    c.onclose = () => {
      lost = true;
      closed.reject(sessionLost());
    };
    // True: the statements behind BEGIN go out without waiting for its answer.
    return true;
  };
  const begin = isolation ? `begin isolation level ${isolation}` : "begin";
  // `onexecute` is postgres.js's own hook (sql.begin takes its connection with it), untyped.
  const watched = { onexecute: watch } as unknown as postgres.UnsafeQueryOptions;
  track(reserved.unsafe(begin, [], watched).execute() as unknown as Promise<unknown[]>);
  // One turn of the microtask queue: postgres.js hands a statement to its connection there.
  await null;
  if (!connection) {
    // Nothing may go out unwatched. Never seen with the postgres.js version locked; the
    // driver's wire test fails if that changes.
    track(send(reserved, "rollback", []));
    await Promise.allSettled(sent);
    if (!lost) reserved.release();
    throw new Error("postgres.js did not hand BEGIN to the reserved connection at once");
  }
  const tx: Queryable = {
    query: <R>(text: string, params: unknown[] = []) =>
      track(lost ? Promise.reject<R[]>(sessionLost()) : send<R>(reserved, text, params)),
  };
  let failure: { error: unknown } | undefined;
  let value: T | undefined;
  try {
    value = await Promise.race([fn(tx), closed.promise]);
    if (!lost) track(send(reserved, "commit", []));
    // must: check every statement after COMMIT. If one that COMMIT went out behind failed,
    // the server answered that COMMIT with a rollback, and its failure is thrown here.
    await Promise.race([Promise.all(sent), closed.promise]);
  } catch (error) {
    failure = { error };
  }
  if (failure && !lost) await send(reserved, "rollback", []).catch(() => {});
  await Promise.allSettled(sent);
  if (lost) throw failure?.error ?? sessionLost();
  connection.onclose = null;
  reserved.release();
  if (failure) throw failure.error;
  return value as T;
}

/** What this module uses of the pool's connection object, which postgres.js leaves untyped. */
type PoolConnection = { onclose: (() => void) | null };

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
