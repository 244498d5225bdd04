import postgres from "postgres";
import type { Queryable, TransactionOptions } from "./driver.ts";
import {
  endsSession,
  onceMoreIfNeverRun,
  type Pending,
  send,
  sessionLost,
  withdrawIfUnsent,
} from "./postgres_session.ts";

/** The postgres.js options of every connection the driver opens. */
export type PoolOptions = postgres.Options<Record<string, postgres.PostgresType>>;

/**
 * Connections of their own for transactions: each lane is a postgres.js pool of one
 * connection that serves one transaction at a time, handed out in arrival order.
 *
 * Why not `sql.reserve()` or `sql.begin()` on the shared pool: postgres.js 3.4.9 hands a
 * reserved connection to a second reserver under load. Its socket's `drain` and the moment
 * between a reservation's hand-over and its taking both return the connection to the pool,
 * and a BEGIN written at a full pipeline skips its reservation (porsager/postgres#1189,
 * #1207). Two transactions then share one session: one's COMMIT commits the other's writes
 * so far, which pulls can then see without the rest. Measured: 2 connections, 200 workers,
 * 3 KB parameters: a shared session in 2,413 of 10,849 transactions, and a pool that stopped
 * answering. A lane's connection is never the pool's to give away: nothing else queries it.
 */
export class TransactionLanes {
  readonly #idle: Lane[];
  readonly #waiting: ((lane: Lane) => void)[] = [];
  readonly #all: Lane[];

  constructor(url: string, options: PoolOptions, count: number) {
    this.#all = Array.from({ length: count }, () => new Lane(url, options));
    this.#idle = [...this.#all];
  }

  async run<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions): Promise<T> {
    const lane = this.#idle.pop() ?? await new Promise<Lane>((take) => this.#waiting.push(take));
    try {
      return await lane.transaction(fn, options);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(lane);
      else this.#idle.push(lane);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#all.map((lane) => lane.sql.end({ timeout: 5 })));
  }
}

class Lane {
  readonly sql: postgres.Sql;
  /**
   * A statement was answered on the current session. Until one is, BEGIN goes out alone:
   * postgres.js hands the statements waiting for a connection that failed to open to its
   * next attempt, the first as its session's first statement, outside any transaction.
   */
  #open = false;
  /** The running transaction's hook for a lost session; null between transactions. */
  #onLost: (() => void) | null = null;

  constructor(url: string, options: PoolOptions) {
    this.sql = postgres(url, {
      ...options,
      max: 1,
      // Ended only when lost: postgres.js would end a connection at its lifetime between two
      // statements of a transaction, as it looks idle then.
      max_lifetime: null,
      // Called as the connection closes, before postgres.js opens it again for what waits.
      onclose: () => {
        this.#open = false;
        this.#onLost?.();
      },
    });
  }

  /**
   * Runs `fn` pipelined at both ends: BEGIN goes out with the first statements and COMMIT
   * right behind the last ones (statements `fn` sends and does not await), so a transaction
   * of a read and a write makes two round trips, not four. `sql.begin` would wait for
   * BEGIN's answer before `fn` could send anything. The transaction waits for every
   * statement before it settles.
   *
   * must: nothing goes on the connection once its session is lost (the server ended it, or
   * the network did): postgres.js would run it on the next session, outside the
   * transaction. So the close withdraws every statement still waiting to be written, none
   * is sent after it, and the transaction fails at once.
   */
  async transaction<T>(
    fn: (tx: Queryable) => Promise<T>,
    { isolation }: TransactionOptions,
  ): Promise<T> {
    const begin = isolation ? `begin isolation level ${isolation}` : "begin";
    const opened = !this.#open;
    if (opened) {
      // Alone, and once more if it takes the FATAL of the session lost before it. Nothing
      // else is sent until it is answered, and a loss fails it. No close can fall between its
      // answer and the hook below: both run before the event loop turns.
      await onceMoreIfNeverRun(() => send(this.sql, begin, []));
      this.#open = true;
    }
    const sent: Pending[] = [];
    const closed = Promise.withResolvers<never>();
    handled(closed.promise);
    let lost = false;
    this.#onLost = () => {
      lost = true;
      sent.forEach(withdrawIfUnsent);
      closed.reject(sessionLost());
    };
    const run = (text: string, params: unknown[] = []): Promise<unknown[]> => {
      if (lost) return handled(Promise.reject(sessionLost()));
      const statement = send(this.sql, text, params);
      sent.push(statement);
      // Marked handled here: a failure is reported once, below.
      statement.catch((error) => lost ||= endsSession(error));
      return statement;
    };
    const tx: Queryable = {
      query: <R>(text: string, params?: unknown[]) => run(text, params) as Promise<R[]>,
    };
    let failure: { error: unknown } | undefined;
    let value: T | undefined;
    try {
      if (!opened) run(begin);
      value = await Promise.race([fn(tx), closed.promise]);
      if (!lost) run("commit");
      // must: check every statement after COMMIT. If one that COMMIT went out behind
      // failed, the server answered that COMMIT with a rollback, and its failure is here.
      await Promise.race([Promise.all(sent), closed.promise]);
    } catch (error) {
      failure = { error };
    }
    if (failure && !lost) await send(this.sql, "rollback", []).catch(() => {});
    await Promise.allSettled(sent);
    this.#onLost = null;
    if (lost) throw failure?.error ?? sessionLost();
    if (failure) throw failure.error;
    return value as T;
  }
}

/** Marks `promise` handled (its failure is reported where it is awaited) and returns it. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
