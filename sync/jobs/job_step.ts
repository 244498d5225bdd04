import type { JobsStore, JobsTx } from "./jobs_store.ts";

/** Why a run ended before its work was done. */
export type Interruption = "lock_held_elsewhere" | "time_budget";

/** Thrown out of a job when its run must end early; the runner reports it. */
export class RunInterrupted extends Error {
  constructor(readonly reason: Interruption) {
    super(`Jobs run interrupted: ${reason}`);
    this.name = "RunInterrupted";
  }
}

/** What every job of one run shares: the store, the run's time, its limits. */
export class JobContext {
  constructor(
    readonly store: JobsStore,
    /** The run's "now" (ms since the epoch) from the runner's clock, for every cutoff. */
    readonly now: number,
    /** Rows per statement. */
    readonly batchSize: number,
    /** When the run must stop starting new steps (performance.now() time). */
    readonly deadline: number,
    /** Tells devices of a user that tombstones up to `head` were committed. */
    readonly notify: (userId: string, head: number) => Promise<void>,
  ) {}

  /**
   * Runs one step in its own transaction under the jobs lock. Throws `RunInterrupted`
   * when the time budget is spent (before starting) or another instance holds the lock,
   * so at most one instance works at a time and a step is never half done.
   */
  async step<T>(fn: (tx: JobsTx) => Promise<T>): Promise<T> {
    if (performance.now() > this.deadline) throw new RunInterrupted("time_budget");
    const done = await this.store.locked(fn);
    if (!done) throw new RunInterrupted("lock_held_elsewhere");
    return done.value;
  }
}
