import { PGlite } from "@electric-sql/pglite";
import type { Driver, Queryable } from "./driver.ts";
import { lockDataDir } from "./data_dir_lock.ts";
import {
  DEFAULT_MAINTENANCE,
  keepMaintaining,
  type MaintenanceFailed,
  type MaintenancePolicy,
} from "./pglite_maintenance.ts";
import { ensureDataDir } from "./ensure_data_dir.ts";
import { queryMessage, type QueryReply, ReplyReader } from "./pglite_replies.ts";

/** The embedded driver, which can also write its whole database out as one archive. */
export interface PgliteDriver extends Driver {
  /** The data directory as a tarball, which `openPgliteDriver` can start from. */
  dump(): Promise<Blob>;
}

/**
 * Opens the embedded Postgres in `dataDir` (in memory when `dataDir` is undefined). With
 * `from`, a `dump()` of another database, it starts from that copy instead of running
 * initdb, which is most of the seconds an open takes; a new `dataDir` starts from the
 * template of one (ensure_data_dir.ts).
 *
 * PGlite is one Postgres session in this process, and every call into it is a pass through
 * its WebAssembly with the wire protocol serialised and parsed on each side: that pass, not
 * the statement, was most of a one-change push (14 passes: BEGIN, SET, three statements and
 * COMMIT, each followed by a Sync of its own). So a transaction sends its statements in as
 * few passes as their order allows (TransactionPipeline): a push's transaction is two, the
 * reads with BEGIN and the writes with COMMIT.
 *
 * `options`: how long to wait for the data directory's lock, and when to checkpoint and vacuum
 * (pglite_maintenance.ts: single-user Postgres has neither checkpointer nor autovacuum), and
 * whom to tell when that fails.
 */
export async function openPgliteDriver(
  dataDir?: string,
  from?: Blob,
  options: {
    waitMs?: number;
    onWait?: (holderPid: number | null) => void;
    maintenance?: MaintenancePolicy;
    onMaintenanceError?: MaintenanceFailed;
  } = {},
): Promise<PgliteDriver> {
  let release = () => {};
  let db: PGlite;
  try {
    if (dataDir) {
      await Deno.mkdir(dataDir, { recursive: true });
      // Beside the directory, not in it: initdb wants an empty one.
      release = await lockDataDir(`${dataDir}.lock`, {
        waitMs: options.waitMs ?? LOCK_WAIT_MS,
        onWait: options.onWait,
      });
      // PGlite loads a copy to start from into an empty directory itself.
      if (!from) await ensureDataDir(dataDir);
    }
    db = await PGlite.create({ dataDir, loadDataDir: from, startParams: START_PARAMS });
  } catch (error) {
    release();
    throw error;
  }
  const session = new Session(db);
  const inTurn: Queryable = { query: (text, params) => session.run(text, params ?? []) };
  const stopMaintenance = keepMaintaining(
    (work) => session.exclusive(() => work(inTurn)),
    options.maintenance ?? DEFAULT_MAINTENANCE,
    options.onMaintenanceError ?? (() => {}),
  );
  return {
    kind: "pglite",
    query: <T>(text: string, params: unknown[] = []) =>
      session.exclusive(() => session.run<T>(text, params)),
    transaction: (fn, { isolation } = {}) =>
      session.exclusive(async () => {
        const tx = new TransactionPipeline(session, isolation);
        let value;
        try {
          value = await fn(tx);
        } catch (error) {
          await tx.end("rollback");
          throw error;
        }
        await tx.end("commit");
        return value;
      }),
    dump: () => session.exclusive(() => db.dumpDataDir("none")),
    close: () => {
      stopMaintenance();
      return session.exclusive(() => db.close()).finally(release);
    },
  };
}

/**
 * How long an open waits for another process to let go of the directory: a restart whose
 * old process is still draining (SHUTDOWN_GRACE_MS, 10 s) gets it as that one exits.
 */
const LOCK_WAIT_MS = 15_000;

/**
 * Postgres's memory, sized for one session in one process. initdb sizes shared_buffers for
 * a server (128MB), and PGlite's WebAssembly memory only grows: the pool alone kept 112MB
 * resident, every page of it touched at start (RSS after opening a database: 298MB at
 * 128MB, 193MB at 32MB, 160MB at 8MB; the WebAssembly memory's RSS under mixed load: 52MB
 * at 32MB, 35MB at 16MB). 16MB (2,048 pages) still holds the working set of the sync
 * tables; a miss reads the page back through the file system, which the OS caches.
 * Durability is unchanged: a dirty page evicted sooner is written after its WAL, as ever.
 * maintenance_work_mem (64MB) bounds what an index build or VACUUM may take for good.
 * default_statistics_target: ANALYZE (the scheduled jobs') reads a sample of 300 rows per
 * unit into memory, 30,000 rows at the default 100, and the memory it took stays: under
 * mixed load each run grew the WebAssembly memory by 8-10MB (35 to 44 to 52MB in two runs),
 * the RSS with it. At 10 the sample is 3,000 rows and the memory stays at 35MB; estimates
 * from it still send pulls along the (user_id, seq) index, which is what the jobs analyze for.
 * max_wal_size and min_wal_size start no checkpoint here (pglite_maintenance.ts), but bound
 * the WAL segments a checkpoint keeps for reuse: at the default 1GB, 300MB of them stayed.
 */
const START_PARAMS = [
  ...PGlite.defaultStartParams,
  ...["-c", "shared_buffers=16MB", "-c", "maintenance_work_mem=16MB"],
  ...["-c", "default_statistics_target=10"],
  ...["-c", "max_wal_size=64MB", "-c", "min_wal_size=32MB"],
];

/** Statements a PREPARE accepts; DDL and SET run as they are. */
const PREPARABLE = /^\s*(with|select|insert|update|delete|values)\b/i;

/**
 * The one session, used by one caller at a time (a transaction holds it from BEGIN to
 * COMMIT), and its prepared statements.
 *
 * Each statement runs as a named prepared statement, `EXECUTE`d through the simple protocol
 * with its parameters written as quoted literals: PGlite's `query()` parses, describes and
 * plans the text on every call, in two passes, where an `EXECUTE` of a statement prepared
 * once in the session skips all of that (a tenth of the time for a short statement,
 * profiled), and several `EXECUTE`s travel in one simple query. A prepared statement
 * outlives a rolled-back transaction, and Postgres replans it itself after a schema change.
 *
 * Literals are `'…'` with quotes doubled (standard_conforming_strings is on, so backslashes
 * mean nothing) and of unknown type, so each takes its parameter's type exactly as a bound
 * value would. A parameter that is not a string, number, boolean or date, or a string
 * holding a NUL (which would end the query text), goes through `query()` instead.
 */
class Session {
  readonly #prepared = new Map<string, string>();
  #count = 0;
  #turn: Promise<unknown> = Promise.resolve();
  readonly #replies: ReplyReader;

  constructor(readonly db: PGlite) {
    this.#replies = new ReplyReader(db.parsers);
  }

  /** Runs `work` once everything asked for before it has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const done = this.#turn.then(work);
    this.#turn = done.catch(() => {});
    return done;
  }

  /** One statement on its own. */
  async run<T>(text: string, params: unknown[]): Promise<T[]> {
    const sql = await this.compile(text, params);
    if (sql === null) return (await this.db.query<T>(text, params)).rows;
    const { results, error } = await this.send([sql]);
    if (error) throw error;
    return results[0].rows as T[];
  }

  /**
   * The `EXECUTE` that runs `text` with `params`, preparing it on first use (a pass of its
   * own, so a statement that fails to prepare is known and prepared again next time); null
   * when it must go through `query()`.
   */
  async compile(text: string, params: unknown[]): Promise<string | null> {
    const literals = PREPARABLE.test(text) ? toLiterals(params) : null;
    if (literals === null) return null;
    let name = this.#prepared.get(text);
    if (name === undefined) {
      name = `s${++this.#count}`;
      const { error } = await this.send([`prepare ${name} as ${text}`]);
      if (error) throw error;
      this.#prepared.set(text, name);
    }
    return literals.length === 0 ? `execute ${name}` : `execute ${name}(${literals.join(", ")})`;
  }

  /**
   * Runs `statements` as one simple query, in one pass: the results of those that completed,
   * in order, and the error that stopped the rest (Postgres skips what follows an error).
   */
  async send(statements: string[]): Promise<QueryReply> {
    let replies: QueryReply[];
    try {
      await this.db.execProtocolRawStream(queryMessage(statements.join(";\n")), {
        onRawData: this.#replies.collect,
        // The database is a directory (PGlite's NodeFS: Postgres writes its files through the
        // OS as it goes) or in memory, and neither file system has anything to sync after a
        // query: their syncToFs does nothing, but behind an async mutex taken on every pass.
        syncToFs: false,
      });
    } finally {
      replies = this.#replies.take();
    }
    return replies[0];
  }
}

interface Queued {
  text: string;
  params: unknown[];
  resolve(rows: unknown[]): void;
  reject(error: unknown): void;
}

/**
 * A transaction's statements, queued and sent when their rows are first waited for (then,
 * await, Promise.all) or at COMMIT, each time with every statement queued before them: the
 * lock and the reads of a push go together with the BEGIN, its writes together with the
 * COMMIT. Order is kept, and so are the driver's promises: a statement that fails fails the
 * transaction, rolled back, and those queued behind it are not run.
 */
class TransactionPipeline implements Queryable {
  #queue: Queued[] = [];
  /** BEGIN, until it goes out in front of the first statements. */
  #begin: string | null;
  #sending: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | null = null;

  constructor(readonly session: Session, isolation?: string) {
    this.#begin = isolation ? `begin isolation level ${isolation}` : "begin";
  }

  query<T>(text: string, params: unknown[] = []): Promise<T[]> {
    let settle!: Pick<Queued, "resolve" | "reject">;
    const rows = new QueuedRows<T[]>((resolve, reject) => {
      settle = { resolve: resolve as Queued["resolve"], reject };
    }, () => this.#flush());
    // Marked handled here: a failure is reported once, by the transaction.
    Promise.prototype.then.call(rows, undefined, () => {});
    if (this.#failure) settle.reject(this.#failure.error);
    else this.#queue.push({ text, params, ...settle });
    return rows;
  }

  /** Sends what is queued with COMMIT behind it, or rolls back; throws what failed. */
  async end(how: "commit" | "rollback"): Promise<void> {
    if (how === "commit" && !this.#failure) await this.#flush(true);
    else await this.#sending;
    for (const queued of this.#queue.splice(0)) {
      queued.reject(new Error("The transaction was rolled back before this statement ran"));
    }
    if (this.#failure || how === "rollback") {
      if (this.session.db.isInTransaction()) await this.session.send(["rollback"]);
      if (this.#failure) throw this.#failure.error;
    }
  }

  #flush(commit = false): Promise<void> {
    const batch = this.#queue.splice(0);
    if (batch.length > 0 || commit) {
      this.#sending = this.#sending.then(() => this.#send(batch, commit));
    }
    return this.#sending;
  }

  /**
   * Runs of preparable statements go in one pass, behind BEGIN if it has not gone out yet
   * and ahead of COMMIT when `commit`; any other statement goes alone, through `query()`.
   */
  async #send(batch: Queued[], commit: boolean): Promise<void> {
    let run: { queued: Queued; sql: string }[] = [];
    const sendRun = async (tail: string[], beginAnyway = false) => {
      if (run.length === 0 && tail.length === 0 && !(beginAnyway && this.#begin)) return;
      const lead = this.#begin ? [this.#begin] : [];
      const sent = run;
      this.#begin = null;
      run = [];
      const { results, error } = await this.session.send([
        ...lead,
        ...sent.map((r) => r.sql),
        ...tail,
      ]);
      sent.forEach(({ queued }, i) => {
        const result = results[lead.length + i];
        if (result) queued.resolve(result.rows);
      });
      if (error) throw error;
      const last = results.at(-1)?.command;
      if (tail.length > 0 && last !== "COMMIT") {
        throw new Error(`COMMIT answered ${last}: the transaction was rolled back`);
      }
    };
    try {
      if (this.#failure) throw this.#failure.error;
      for (const queued of batch) {
        const sql = await this.session.compile(queued.text, queued.params);
        if (sql !== null) {
          run.push({ queued, sql });
          continue;
        }
        await sendRun([], true);
        queued.resolve((await this.session.db.query(queued.text, queued.params)).rows);
      }
      // A transaction that sent nothing has nothing to commit.
      await sendRun(commit && (this.#begin === null || run.length > 0) ? ["commit"] : []);
    } catch (error) {
      this.#failure ??= { error };
      // Those that completed keep their rows: a promise settles once.
      for (const queued of batch) queued.reject(error);
    }
  }
}

/**
 * A statement's rows that go out only once someone waits for them: its `then` (which
 * `await` and `Promise.all` call) flushes the pipeline. Derived promises are plain ones.
 */
class QueuedRows<T> extends Promise<T> {
  static override get [Symbol.species]() {
    return Promise;
  }

  #wanted: (() => void) | null;

  constructor(
    executor: (resolve: (value: T) => void, reject: (reason: unknown) => void) => void,
    wanted: () => void,
  ) {
    super(executor);
    this.#wanted = wanted;
  }

  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const wanted = this.#wanted;
    this.#wanted = null;
    wanted?.();
    return super.then(onFulfilled, onRejected);
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
