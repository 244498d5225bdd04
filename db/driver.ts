/** A connection that runs parameterised SQL (`$1`, `$2` …) and returns rows. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

export interface TransactionOptions {
  /** Pinned rather than inherited: a server or database default may be stricter. */
  isolation?: "read committed";
}

/**
 * The one seam between the store and a Postgres implementation: postgres.js for a
 * server, PGlite for the embedded default. Both run the very same SQL text.
 */
export interface Driver extends Queryable {
  readonly kind: "postgres" | "pglite";
  /**
   * Runs `fn` in a transaction. Statements run in the order they are sent. The transaction
   * also waits for the statements `fn` sent without awaiting (so a driver may send COMMIT
   * along with them) and fails, rolled back, if any of them failed.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

/** The SQLSTATE of an error the server sent (either driver); null for any other error. */
export function sqlState(error: unknown): string | null {
  // Both drivers' server errors carry `code` and `severity`; their own errors (a lost
  // connection) have no `severity`.
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof code === "string" && typeof severity === "string" && /^[0-9A-Z]{5}$/.test(code)
    ? code
    : null;
}

/** Serialization failure and deadlock victim: the server cancelled a transaction that may well pass again. */
const TRANSIENT = new Set(["40001", "40P01"]);

/**
 * Runs `transaction` a second time when the server cancelled the first run as a deadlock
 * victim or a serialization failure; any other failure, or a second one, is thrown.
 * `transaction` must be safe to run again: everything it did was rolled back.
 *
 * The second run waits a few random milliseconds first: run at once, it can take back the
 * lock the survivor was about to be granted and meet it in the same deadlock again.
 */
export async function retryOnceIfTransient<T>(transaction: () => Promise<T>): Promise<T> {
  try {
    return await transaction();
  } catch (error) {
    if (!TRANSIENT.has(sqlState(error) ?? "")) throw error;
    await new Promise((resume) => setTimeout(resume, RETRY_PAUSE_MS * (1 + Math.random())));
    return await transaction();
  }
}

const RETRY_PAUSE_MS = 10;
