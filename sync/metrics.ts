import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { type Collection, isCollection } from "./collections.ts";
import type { JobsReport } from "./jobs/job_runner.ts";
import type { PlanResult } from "./push_planner.ts";
import type { ReplicationListenerState } from "./replication/listener.ts";
import { FAULT_KINDS } from "./replication/replication_error.ts";
import type { Tier } from "./tiers.ts";
import { WS_CLOSE } from "./ws/messages.ts";

/** Cheap snapshots (no I/O) that gauges read when `/metrics` is scraped. */
export interface MetricSources {
  hub?: { stats(): { sockets: number; users: number } } | null;
  listener?: { state(): ReplicationListenerState } | null;
}

const ROLES = ["holder", "standby", "stopped"] as const;
const WAL_STATUSES = ["reserved", "extended", "unreserved", "lost"] as const;
/** Close codes kept as label values; any other code a client sends counts as `other`. */
const KNOWN_CLOSE_CODES = new Set<number>([
  ...Array.from({ length: 16 }, (_, i) => 1000 + i),
  ...Object.values(WS_CLOSE),
]);
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Every Prometheus metric of one instance, in one registry: passed to whatever records
 * (the app, services, hub, bus), never global, so tests build as many as they like.
 * Label values are bounded: route patterns (never raw paths), collections, statuses,
 * tiers; never a user or device id.
 *
 * Other parts record with the public metric objects, for example:
 * - a rate limiter: `metrics.rateLimited("/api/sync/data", "device")`;
 * - the job runner: `metrics.jobsRan(report)` after each run.
 *
 * @example
 * const metrics = new Metrics();
 * metrics.observe({ hub, listener });
 * const text = await metrics.registry.metrics(); // Prometheus text exposition
 */
export class Metrics {
  readonly registry = new Registry();
  #work = 0;

  readonly httpRequests = this.#counter("devpocket_http_requests_total", "HTTP requests served.", [
    "method",
    "route",
    "status",
  ]);
  readonly httpDuration = new Histogram({
    name: "devpocket_http_request_duration_seconds",
    help: "Time to answer an HTTP request, by route pattern.",
    labelNames: ["method", "route", "status"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly httpRequestBytes = this.#counter(
    "devpocket_http_request_bytes_total",
    "Request body bytes received (Content-Length), by route pattern.",
    ["method", "route"],
  );
  readonly httpResponseBytes = this.#counter(
    "devpocket_http_response_bytes_total",
    "Response body bytes sent, by route pattern.",
    ["method", "route"],
  );
  readonly pushResults = this.#counter(
    "devpocket_sync_push_results_total",
    "Pushed changes by collection and result status (`invalid`: not a known collection).",
    ["collection", "status"],
  );
  readonly conflicts = this.#counter(
    "devpocket_sync_conflicts_total",
    "Stale changes settled by a conflict strategy, by strategy and outcome.",
    ["strategy", "outcome"],
  );
  readonly filteredCommands = this.#counter(
    "devpocket_sync_filtered_commands_total",
    "Commands the privacy filter or a local_only history rule kept out of storage.",
  );
  readonly pulls = this.#counter(
    "devpocket_sync_pulls_total",
    "Pulls answered, by the account's tier (device sync frequency: rate over devices).",
    ["tier"],
  );
  /**
   * Socket messages since the last scrape, by direction and type, added to `wsMessages` as it
   * is read. A fan-out counts one per socket, and prom-client's `inc` builds a label hash
   * string and a result object each call: 260 of the ~1,000 bytes allocated per delivery,
   * 100 users x 10 sockets in process.
   */
  readonly #wsPending = { in: new Map<string, number>(), out: new Map<string, number>() };
  readonly wsMessages = new Counter({
    name: "devpocket_ws_messages_total",
    help: "WebSocket messages by direction (`in`, `out`) and type (`invalid`: unparseable).",
    labelNames: ["direction", "type"],
    registers: [this.registry],
    collect: () => this.#flushSocketMessages(),
  });
  readonly wsCloses = this.#counter(
    "devpocket_ws_closes_total",
    "WebSocket closes by close code, whichever side closed.",
    ["code"],
  );
  readonly busPublishes = this.#counter(
    "devpocket_bus_publishes_total",
    "Messages handed to the bus.",
  );
  readonly busPublishErrors = this.#counter(
    "devpocket_bus_publish_errors_total",
    "Publishes the bus refused or could not deliver to the broker.",
  );
  readonly busMessages = this.#counter(
    "devpocket_bus_messages_received_total",
    "Messages delivered to this instance's subscriptions.",
  );
  readonly rateLimitRejections = this.#counter(
    "devpocket_rate_limit_rejections_total",
    "Requests or socket messages refused by a rate limit, by route pattern and scope.",
    ["route", "scope"],
  );
  readonly jobRuns = this.#counter(
    "devpocket_job_runs_total",
    "Scheduled job runs by outcome (`ok`, `interrupted`: stopped at its time budget).",
    ["job", "outcome"],
  );
  readonly jobItems = this.#counter(
    "devpocket_job_items_total",
    "Items a scheduled job removed or tombstoned.",
    ["job"],
  );
  readonly jobDuration = new Histogram({
    name: "devpocket_job_duration_seconds",
    help: "Time a scheduled job run took.",
    labelNames: ["job"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Deno's event-loop delay monitor reports NaN or far too little (a 300 ms block read as
    // 2.4 ms): a gauge nobody may alert on is worse than none.
    for (const metric of this.registry.getMetricsAsArray()) {
      if (metric.name.startsWith("nodejs_eventloop_lag")) {
        this.registry.removeSingleMetric(metric.name);
      }
    }
  }

  /** The gauges read from the hub and the replication listener at each scrape. */
  observe(sources: MetricSources): void {
    const { hub, listener } = sources;
    if (hub) {
      this.#gauge("devpocket_ws_sockets", "Open WebSocket connections on this instance.", (g) => {
        g.set(hub.stats().sockets);
      });
      this.#gauge("devpocket_ws_users", "Users with a socket on this instance.", (g) => {
        g.set(hub.stats().users);
      });
    }
    if (!listener) return;
    const gauge = (name: string, help: string, read: (s: ReplicationListenerState) => number) =>
      this.#gauge(name, help, (g) => g.set(read(listener.state())));
    gauge(
      "devpocket_replication_lag_bytes",
      "WAL bytes the slot is behind.",
      (s) => s.lagBytes ?? 0,
    );
    gauge(
      "devpocket_replication_lag_seconds",
      "Seconds published events are behind.",
      (s) => s.lagSeconds ?? 0,
    );
    gauge(
      "devpocket_replication_slot_lost",
      "1 when the slot's WAL is lost.",
      (s) => s.walStatus === "lost" ? 1 : 0,
    );
    gauge(
      "devpocket_replication_streaming",
      "1 while a replication stream is open.",
      (s) => s.streaming ? 1 : 0,
    );
    this.#gauge("devpocket_replication_role", "1 for this instance's role.", (g) => {
      const { role } = listener.state();
      for (const r of ROLES) g.set({ role: r }, role === r ? 1 : 0);
    }, ["role"]);
    this.#gauge("devpocket_replication_wal_status", "1 for the slot's wal_status.", (g) => {
      const { walStatus } = listener.state();
      for (const s of WAL_STATUSES) g.set({ wal_status: s }, walStatus === s ? 1 : 0);
    }, ["wal_status"]);
    this.#gauge(
      "devpocket_replication_fault",
      "1 for the fault that stops every hint (see /ready), by kind.",
      (g) => {
        const { fault } = listener.state();
        for (const kind of FAULT_KINDS) g.set({ kind }, fault?.kind === kind ? 1 : 0);
      },
      ["kind"],
    );
  }

  /** One HTTP request; `route` is the matched pattern, never the raw path. */
  request(
    labels: { method: string; route: string; status: number },
    seconds: number,
    bytes: { request: number; response: number },
  ): void {
    const { method, route } = labels;
    this.#work++;
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
    this.httpRequestBytes.inc({ method, route }, bytes.request);
    this.httpResponseBytes.inc({ method, route }, bytes.response);
  }

  /** A push as answered: `changes` as sent, in the order of `plan.results`. */
  pushed(changes: readonly unknown[], plan: Pick<PlanResult, "results" | "settled">): void {
    plan.results.forEach((result, i) => {
      const collection = collectionOf(changes[i]);
      this.pushResults.inc({ collection, status: result.status });
      if (result.status === "filtered") this.filteredCommands.inc();
    });
    for (const { strategy, status } of plan.settled) {
      this.conflicts.inc({ strategy, outcome: status });
    }
  }

  pulled(tier: Tier): void {
    this.pulls.inc({ tier });
  }

  /** A request refused by a rate limit (`scope`: `device`, `user`, `ip` or `socket`). */
  rateLimited(route: string, scope: string): void {
    this.rateLimitRejections.inc({ route, scope });
  }

  /** One run of the scheduled jobs: what each job removed, and how the run ended. */
  jobsRan(report: JobsReport): void {
    const outcome = report.interrupted ? "interrupted" : "ok";
    this.jobRuns.inc({ job: "all", outcome });
    this.jobDuration.observe({ job: "all" }, report.ms / 1000);
    this.jobItems.inc({ job: "retention" }, report.tombstoned);
    this.jobItems.inc({ job: "history" }, report.historyDropped);
    this.jobItems.inc({ job: "expire" }, report.expired);
    this.jobItems.inc({ job: "compaction" }, report.purged);
  }

  socketMessage(direction: "in" | "out", type: string): void {
    this.#work++;
    const pending = this.#wsPending[direction];
    pending.set(type, (pending.get(type) ?? 0) + 1);
  }

  #flushSocketMessages(): void {
    for (const direction of ["in", "out"] as const) {
      const pending = this.#wsPending[direction];
      for (const [type, count] of pending) this.wsMessages.inc({ direction, type }, count);
      pending.clear();
    }
  }

  /** A message handed to the bus. */
  busPublished(): void {
    this.#work++;
    this.busPublishes.inc();
  }

  /** A message the bus delivered to one of this instance's subscriptions. */
  busDelivered(): void {
    this.#work++;
    this.busMessages.inc();
  }

  /**
   * How much work this instance has done so far: HTTP requests answered, socket messages sent
   * or received, and messages through the bus (all a listener-only instance does). Only its
   * changes mean anything (the memory trimmer tells load from quiet by them); reading it costs
   * nothing, unlike the registry's counters.
   */
  get work(): number {
    return this.#work;
  }

  socketClosed(code: number): void {
    this.wsCloses.inc({ code: KNOWN_CLOSE_CODES.has(code) ? String(code) : "other" });
  }

  #counter<L extends string = never>(name: string, help: string, labelNames: L[] = []) {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  #gauge(name: string, help: string, collect: (g: Gauge) => void, labelNames: string[] = []) {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        collect(this);
      },
    });
  }
}

function collectionOf(change: unknown): Collection | "invalid" {
  const collection = (change as { collection?: unknown } | null)?.collection;
  return typeof collection === "string" && isCollection(collection) ? collection : "invalid";
}
