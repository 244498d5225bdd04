import type { Logger } from "../logger.ts";
import { expireRules } from "./expire_rules.ts";
import { freeRetention } from "./free_retention.ts";
import { type Interruption, JobContext, RunInterrupted } from "./job_step.ts";
import type { JobsStore } from "./jobs_store.ts";
import { type CompactionPolicy, compactTombstones } from "./tombstone_compaction.ts";

/** What one run did; also what the metrics hook receives. */
export interface JobsReport {
  /** Free users' commands past 7 days, now tombstones. */
  tombstoned: number;
  /** Free users' prior versions deleted. */
  historyDropped: number;
  /** Commands tombstoned by `expire` rules. */
  expired: number;
  /** Tombstones purged by compaction. */
  purged: number;
  /** Tables whose planner statistics were refreshed (grown since their last ANALYZE). */
  analyzed: string[];
  /** Set when the run ended early; the next run goes on from where the data is. */
  interrupted: Interruption | null;
  ms: number;
}

export interface JobRunnerOptions extends CompactionPolicy {
  store: JobsStore;
  logger: Logger;
  /** JOBS_INTERVAL_SECONDS; 0 runs nothing on a timer (runOnce still works). */
  intervalSeconds: number;
  /** Tells a user's devices of committed tombstones (embedded: the in-process bus). */
  notify: (userId: string, head: number) => Promise<void>;
  /** After every run, e.g. to count each figure in /metrics. */
  onRun?: (report: JobsReport) => void;
  clock?: () => number;
  /** Rows per statement (default 1,000). */
  batchSize?: number;
  /** How long one run may keep starting steps (default: half the interval, at most 30 s). */
  timeBudgetMs?: number;
}

/**
 * The scheduled jobs of DESIGN.md §12: free-tier retention, `expire` history rules and
 * tombstone compaction, then planner statistics of grown tables, every `intervalSeconds`.
 * Every instance runs a runner; each step of a run is a transaction that first takes a
 * Postgres advisory lock, so at most one instance works at a time across the deployment
 * (the others' runs end at once) and the work is done once. Steps are bounded (`batchSize`
 * rows) and a run stops starting new ones after its time budget: a large backlog is worked
 * off over several runs.
 */
export class JobRunner {
  readonly #options: JobRunnerOptions;
  readonly #clock: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<JobsReport> | undefined;
  #stopped = false;

  constructor(options: JobRunnerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** Runs every interval, the first one interval from now. */
  start(): void {
    if (this.#options.intervalSeconds <= 0) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }

  /** One run now (a run already in progress is joined rather than overlapped). */
  runOnce(): Promise<JobsReport> {
    return this.#running ??= this.#run().finally(() => this.#running = undefined);
  }

  #schedule(): void {
    this.#timer = setTimeout(async () => {
      try {
        await this.runOnce();
      } catch (error) {
        this.#options.logger.error("Scheduled jobs failed", { error });
      }
      if (!this.#stopped) this.#schedule();
    }, this.#options.intervalSeconds * 1000);
  }

  async #run(): Promise<JobsReport> {
    const started = performance.now();
    const options = this.#options;
    const budget = options.timeBudgetMs ??
      Math.min(30_000, options.intervalSeconds * 500 || 30_000);
    const ctx = new JobContext(
      options.store,
      this.#clock(),
      options.batchSize ?? 1_000,
      started + budget,
      options.notify,
    );
    const counts = { tombstoned: 0, historyDropped: 0, expired: 0, purged: 0 };
    let analyzed: string[] = [];
    let interrupted: Interruption | null = null;
    try {
      await freeRetention(ctx, counts);
      await expireRules(ctx, counts);
      await compactTombstones(ctx, options, counts);
      // Last: after the jobs' own deletes. An embedded database never autovacuums.
      analyzed = await ctx.step((tx) => tx.analyzeGrownTables());
    } catch (error) {
      if (!(error instanceof RunInterrupted)) throw error;
      interrupted = error.reason;
    }
    const report = {
      ...counts,
      analyzed,
      interrupted,
      ms: Math.round(performance.now() - started),
    };
    const didWork = counts.tombstoned + counts.historyDropped + counts.expired + counts.purged +
        analyzed.length > 0;
    if (didWork || interrupted === "time_budget") {
      options.logger.info("Scheduled jobs ran", { ...report });
    } else options.logger.debug("Scheduled jobs ran", { ...report });
    options.onRun?.(report);
    return report;
  }
}
