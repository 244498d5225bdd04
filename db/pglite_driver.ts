import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { Driver, Queryable } from "./driver.ts";
import { ensureDataDir } from "./ensure_data_dir.ts";

/** Opens the embedded Postgres in `dataDir` (in memory when `dataDir` is undefined). */
export async function openPgliteDriver(dataDir?: string): Promise<Driver> {
  if (dataDir) {
    await Deno.mkdir(dataDir, { recursive: true });
    await ensureDataDir(dataDir, START_PARAMS);
  }
  const db = await PGlite.create({ dataDir, startParams: START_PARAMS });
  const prepared = new PreparedStatements();
  const run = (runner: PGlite | Transaction): Queryable => ({
    query: <T>(text: string, params: unknown[] = []) => prepared.run<T>(runner, text, params),
  });
  return {
    kind: "pglite",
    ...run(db),
    transaction: (fn, { isolation } = {}) =>
      db.transaction(async (tx) => {
        // exec, not query: no parameters, so no parse-and-describe pass first.
        if (isolation) await tx.exec(`set transaction isolation level ${isolation}`);
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

/**
 * Postgres's memory, sized for one session in one process. initdb sizes shared_buffers for
 * a server (128MB), and PGlite's WebAssembly memory only grows: the pool alone kept 112MB
 * resident, every page of it touched at start (RSS after opening a database: 298MB at
 * 128MB, 193MB at 32MB, 160MB at 8MB). 32MB still holds the working set of the sync
 * tables; a miss reads the page back through the file system, which the OS caches.
 * Durability is unchanged: a dirty page evicted sooner is written after its WAL, as ever.
 * maintenance_work_mem (64MB) bounds what an index build or VACUUM may take for good.
 */
const START_PARAMS = [
  ...PGlite.defaultStartParams,
  ...["-c", "shared_buffers=32MB", "-c", "maintenance_work_mem=16MB"],
];

/** Statements a PREPARE accepts; DDL and SET run as they are. */
const PREPARABLE = /^\s*(with|select|insert|update|delete|values)\b/i;

/**
 * Runs each statement as a named prepared statement, executed through the simple protocol
 * with its parameters written as quoted literals. PGlite's `query()` parses, describes and
 * plans the text on every call, in two passes through the WASM Postgres; an `EXECUTE` of a
 * statement prepared once in the session skips all of that (a tenth of the time for a
 * short statement, profiled). A prepared statement outlives a rolled-back transaction, and
 * Postgres replans it itself after a schema change.
 *
 * Literals are `'…'` with quotes doubled (standard_conforming_strings is on, so backslashes
 * mean nothing) and of unknown type, so each takes its parameter's type exactly as a bound
 * value would. A parameter that is not a string, number, boolean or date, or a string
 * holding a NUL (which would end the query text), goes through `query()` instead.
 */
class PreparedStatements {
  readonly #names = new Map<string, Promise<string>>();
  #count = 0;

  async run<T>(runner: PGlite | Transaction, text: string, params: unknown[]): Promise<T[]> {
    const literals = PREPARABLE.test(text) ? toLiterals(params) : null;
    if (literals === null) return (await runner.query<T>(text, params)).rows;
    const name = await this.#prepare(runner, text);
    const args = literals.length === 0 ? "" : `(${literals.join(", ")})`;
    const [result] = await runner.exec(`execute ${name}${args}`);
    return result.rows as T[];
  }

  #prepare(runner: PGlite | Transaction, text: string): Promise<string> {
    let name = this.#names.get(text);
    if (name === undefined) {
      const chosen = `s${++this.#count}`;
      name = runner.exec(`prepare ${chosen} as ${text}`).then(() => chosen);
      this.#names.set(text, name);
      // A statement that failed to prepare is prepared again by its next caller.
      name.catch(() => this.#names.delete(text));
    }
    return name;
  }
}

function toLiterals(params: unknown[]): string[] | null {
  const literals: string[] = [];
  for (const value of params) {
    let text: string;
    if (value === null || value === undefined) {
      literals.push("null");
      continue;
    } else if (typeof value === "string") text = value;
    else if (typeof value === "number" || typeof value === "bigint") text = String(value);
    else if (typeof value === "boolean") text = value ? "true" : "false";
    else if (value instanceof Date) text = value.toISOString();
    else return null;
    if (text.includes("\0")) return null;
    literals.push(`'${text.replaceAll("'", "''")}'`);
  }
  return literals;
}
