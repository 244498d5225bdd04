/** A connection that runs parameterised SQL (`$1`, `$2` …) and returns rows. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
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
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
