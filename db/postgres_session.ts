import type postgres from "postgres";

/** A statement as postgres.js hands it out before it is answered; it can still be withdrawn. */
export type Pending<T = unknown> = Promise<T[]> & { cancel(): unknown };

/**
 * Sends one statement now (queries of postgres.js otherwise wait for their first `then`), so
 * statements go out in call order and pipelined ones share a network write.
 */
export function send<T>(sql: postgres.Sql, text: string, params: unknown[]): Pending<T> {
  // Prepared: one round trip per statement instead of two, and the server keeps the plan.
  // deno-lint-ignore no-explicit-any
  return sql.unsafe(text, params as any[], { prepare: true }).execute() as unknown as Pending<T>;
}

/**
 * Withdraws a statement still waiting for its connection (postgres.js rejects it); one
 * already written is left alone: cancelling that would open a connection to cancel it.
 */
export function withdrawIfUnsent(statement: Pending): void {
  // `state` is postgres.js's own: null until the statement is written; untyped.
  if (!(statement as { state?: unknown }).state) statement.cancel();
}

/**
 * Runs `attempt` a second time when it failed with a FATAL server error: such an error
 * reaches only a statement that never ran. A session ended under statements in flight fails
 * them with CONNECTION_CLOSED; its FATAL goes to a statement waiting for that connection to
 * open again (postgres.js keeps the old session's error and fails the new session's first
 * statement with it), or to one whose connection could not be opened.
 *
 * A `rereadable` statement (it writes nothing) runs again after its connection was lost
 * too: a statement written to an idle connection the server has just ended (a restart, a
 * failover) fails with ECONNRESET, though it never ran.
 */
export async function onceMoreIfNeverRun<T>(
  attempt: () => Promise<T>,
  { rereadable = false }: { rereadable?: boolean } = {},
): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
    const lost = LOST_CONNECTION.has(code as string) || RESET_CONNECTION.has(code as string);
    if (severity !== "FATAL" && !(rereadable && lost)) throw error;
    return await attempt();
  }
}

/**
 * A statement that writes nothing a second run could repeat: a SELECT's only effects are
 * its session's (an advisory lock, a heartbeat message), which a lost session takes along.
 */
export const READ_ONLY = /^\s*select\b/i;

/** postgres.js's errors for a connection that is gone; the server's are FATAL or PANIC. */
const LOST_CONNECTION = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED"]);
/** The socket's errors for a connection the server closed under a write or a read. */
const RESET_CONNECTION = new Set(["ECONNRESET", "EPIPE"]);

/** Whether `error` means the statement's session is over (no ROLLBACK can reach it). */
export function endsSession(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return LOST_CONNECTION.has(code as string) || severity === "FATAL" || severity === "PANIC";
}

/** The failure of a statement sent after its session was lost: it is never sent. */
export function sessionLost(): Error {
  return Object.assign(new Error("The transaction's database session was lost"), {
    code: "CONNECTION_CLOSED",
  });
}
