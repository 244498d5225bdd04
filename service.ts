/**
 * One running instance, built from configuration: the same wiring for main.ts, the
 * end-to-end tests and the benchmarks' server process.
 */
import type { Hono } from "hono";
import { type Config, ConfigError } from "./config.ts";
import type { Driver } from "./db/driver.ts";
import { anotherProcess, DataDirInUse } from "./db/data_dir_lock.ts";
import { NotADatabaseDir } from "./db/ensure_data_dir.ts";
import { JobsSql } from "./db/jobs_sql.ts";
import { migrate } from "./db/migrate.ts";
import { SqlStore } from "./db/sql_store.ts";
import { createApp } from "./routes/app.ts";
import type { OnLimited } from "./routes/rate_limit.ts";
import type { AppEnv } from "./routes/env.ts";
import { AccountTokenVerifier } from "./sync/account_tokens.ts";
import type { Bus } from "./sync/bus/bus.ts";
import { MeteredBus } from "./sync/bus/metered_bus.ts";
import { openBus } from "./sync/bus/open_bus.ts";
import { inProcessNotifier, WAL_NOTIFIER } from "./sync/change_notifier.ts";
import { withHeadTracking } from "./sync/cache/head_tracking_bus.ts";
import { RedisSyncCache } from "./sync/cache/redis_sync_cache.ts";
import { RememberedAdvances } from "./sync/cache/remembered_advances.ts";
import { MemorySyncCache, type SyncCache } from "./sync/cache/sync_cache.ts";
import { loadOrCreateDevSecret } from "./sync/dev_secret.ts";
import { inProcessJobNotice } from "./sync/jobs/in_process_notice.ts";
import { JobRunner, type JobsReport } from "./sync/jobs/job_runner.ts";
import { type KvConnection, openKvConnection } from "./sync/kv_connection.ts";
import type { Logger } from "./sync/logger.ts";
import { openLimiter } from "./sync/rate_limit/open_limiter.ts";
import { withOverride } from "./sync/rate_limit/tier_rate_limits.ts";
import { MemoryTrimmer } from "./sync/memory_trim.ts";
import { Metrics } from "./sync/metrics.ts";
import type { ReplicationListener } from "./sync/replication/listener.ts";
import { parseLsn } from "./sync/replication/lsn.ts";
import { buildServices } from "./sync/services.ts";
import { Hub } from "./sync/ws/hub.ts";

/**
 * How long a shutdown (main.ts, on SIGTERM) waits for requests in flight and the listener's
 * last confirmation. An orchestrator's stop timeout must exceed it (compose.yaml).
 */
export const SHUTDOWN_GRACE_MS = 10_000;

/** What an instance runs for the replication listener (tests substitute a controllable one). */
export type ListenerLike = Pick<ReplicationListener, "start" | "stop" | "state">;

export interface Service {
  app: Hono<AppEnv>;
  hub: Hub;
  bus: Bus;
  store: SqlStore;
  driver: Driver;
  listener: ListenerLike | null;
  /** The scheduled jobs (retention, expire rules, compaction) on their timer. */
  jobs: JobRunner;
  /** True on the embedded database (no DATABASE_URL). */
  embedded: boolean;
  /**
   * Closes sockets (1012), the jobs, the listener, the bus, the limits' Redis and the
   * database, in that order. Call
   * `hub.close()` before stopping the HTTP server (open sockets would hold it), this after.
   * With `drainUntil` (a `Date.now()` deadline) a listener holding the slot first publishes
   * and confirms every transaction committed so far, so a restart replays none of them.
   */
  close(options?: { drainUntil?: number }): Promise<void>;
}

export interface ServiceOptions {
  /** Replaces the listener built from `config` (only consulted where one would run). */
  listener?: (bus: Bus) => ListenerLike;
  /** An in-memory embedded database instead of `DATA_DIR` (benchmarks). */
  inMemory?: boolean;
  /** Told of every request refused by a rate limit (metrics: `rateLimitRejections`). */
  onLimited?: OnLimited;
  /** Told of every scheduled jobs run (metrics). */
  onJobsRun?: (report: JobsReport) => void;
}

/** Opens the database, migrates, connects the bus, starts the listener and builds the app. */
export async function startService(
  config: Config,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<Service> {
  const embedded = !config.DATABASE_URL;
  if (embedded && !options.inMemory) assertDataDirGranted(config.DATA_DIR);
  const driver = await openDriver(
    config.DATABASE_URL,
    options.inMemory ? undefined : config.DATA_DIR,
    logger,
  );
  const applied = await migrate(driver);
  if (applied.length > 0) logger.info("Migrations applied", { migrations: applied });
  const jobsStore = new JobsSql(driver);
  // Before serving, under the jobs' lock (one instance at a time): an embedded database
  // never autovacuums, and pulls planned without statistics sort all of a user's rows.
  const analyzed = await jobsStore.locked((tx) => tx.analyzeGrownTables());
  if (analyzed?.value.length) logger.info("Statistics refreshed", { tables: analyzed.value });

  const accounts = await AccountTokenVerifier.create({
    // Only the embedded default may generate its secret: instances sharing a database must
    // share it, which loadConfig enforces.
    secret: config.JWT_SECRET ??
      (embedded && !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL
        ? await loadOrCreateDevSecret(config.DATA_DIR)
        : undefined),
    publicKey: config.JWT_PUBLIC_KEY,
    jwksUrl: config.JWT_JWKS_URL,
    algorithm: config.JWT_ALGORITHM,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  const kv = await openKvConnection(config, logger);
  const cache = config.SYNC_CACHE === "on" ? openSyncCache(kv, embedded) : null;
  const metrics = new Metrics();
  const onCacheError = (error: unknown) => logger.warn("Head cache update failed", { error });
  const bus = withHeadTracking(
    new MeteredBus(await openBus(config, { logger }), metrics),
    cache,
    onCacheError,
  );
  // In-process events pass the head-tracking bus before the push answers; the WAL's come later.
  const notifier = embedded
    ? inProcessNotifier(bus, (error) => logger.warn("In-process publish failed", { error }))
    : WAL_NOTIFIER;
  const store = new SqlStore(driver);
  const hub = new Hub({
    bus,
    store,
    cache,
    logger,
    allowedOrigins: config.WS_ALLOWED_ORIGINS,
    metrics,
  });
  // Edge instances (ROLE=api) never open a replication connection; the embedded database has no WAL.
  const listener = config.DATABASE_URL && config.ROLE !== "api"
    ? options.listener?.(bus) ??
      new (await import("./sync/replication/listener.ts")).ReplicationListener({
        databaseUrl: config.DATABASE_URL,
        slot: config.REPLICATION_SLOT,
        bus,
        logger,
      })
    : null;
  await listener?.start();
  const jobs = new JobRunner({
    store: jobsStore,
    logger,
    intervalSeconds: config.JOBS_INTERVAL_SECONDS,
    tombstoneRetentionDays: config.TOMBSTONE_RETENTION_DAYS,
    deviceInactiveDays: config.DEVICE_INACTIVE_DAYS,
    notify: jobNotice(cache, embedded ? inProcessJobNotice(bus, logger) : null),
    onRun: (report) => {
      metrics.jobsRan(report);
      options.onJobsRun?.(report);
    },
  });
  jobs.start();
  const trimmer = new MemoryTrimmer(config.MEMORY_TRIM_SECONDS, { work: () => metrics.work });
  await trimmer.start();
  const apiEnabled = config.ROLE !== "listener";
  metrics.observe({ hub: apiEnabled ? hub : null, listener });
  const app = createApp({
    logger,
    accounts,
    maxBodyBytes: config.MAX_BODY_BYTES,
    hub,
    readiness: { driver, bus, listener },
    metrics,
    apiEnabled,
    rateLimiting: {
      limiter: await openLimiter(kv, logger),
      limits: withOverride(config.RATE_LIMITS),
      authFailuresPerMinute: config.RATE_LIMIT_AUTH_FAILURES,
      clientIpHeader: config.CLIENT_IP_HEADER,
      onLimited: (route, scope) => {
        metrics.rateLimited(route, scope);
        options.onLimited?.(route, scope);
      },
    },
    ...buildServices(store, notifier, { cache, metrics, logger, soleWriter: embedded }),
  });
  return {
    app,
    hub,
    bus,
    store,
    driver,
    listener,
    jobs,
    embedded,
    async close({ drainUntil } = {}) {
      await hub.close();
      trimmer.stop();
      await jobs.stop();
      if (listener && drainUntil !== undefined) {
        const confirmed = await confirmCommitted(driver, listener, drainUntil).catch(() => false);
        if (!confirmed) {
          logger.warn("Shutdown: the listener did not confirm every committed change in time", {
            last_acked_lsn: listener.state().lastAckedLsn,
          });
        }
      }
      await listener?.stop();
      await bus.close();
      await kv.close();
      await driver.close();
    },
  };
}

/**
 * Postgres at `databaseUrl`, else PGlite in `dataDir` (in memory without one). Each
 * driver's library is loaded only when chosen: an instance holds one or the other.
 */
async function openDriver(
  databaseUrl: string | undefined,
  dataDir: string | undefined,
  logger: Logger,
) {
  if (databaseUrl) return (await import("./db/postgres_driver.ts")).openPostgresDriver(databaseUrl);
  const { openPgliteDriver } = await import("./db/pglite_driver.ts");
  try {
    return await openPgliteDriver(dataDir && `${dataDir}/pgdata`, undefined, {
      onWait: (pid) =>
        logger.warn(`DATA_DIR is in use by ${anotherProcess(pid)}: waiting for it to exit`, {
          data_dir: dataDir,
        }),
      onMaintenanceError: (work, error) =>
        logger.warn(`The embedded database's ${work} failed; it runs again shortly`, { error }),
    });
  } catch (error) {
    if (error instanceof NotADatabaseDir) {
      throw new ConfigError(
        `DATA_DIR "${dataDir}": ${error.message}, and a new database is not written over ` +
          "other files. Move them away, or give the service another DATA_DIR",
      );
    }
    if (!(error instanceof DataDirInUse)) throw error;
    throw new ConfigError(
      `DATA_DIR "${dataDir}" is in use by ${anotherProcess(error.holderPid)}: one service per ` +
        "data directory (two would write the same database files). Stop the other one, or " +
        "give this one a DATA_DIR of its own",
    );
  }
}

/**
 * Embedded mode writes DATA_DIR; `deno task start` may write only ./data. Saying so names
 * the variable instead of failing deep inside PGlite with a permission error.
 */
function assertDataDirGranted(dataDir: string): void {
  for (const name of ["read", "write"] as const) {
    if (Deno.permissions.querySync({ name, path: dataDir }).state !== "granted") {
      throw new ConfigError(
        `DATA_DIR "${dataDir}" is outside what this process may ${name}: \`deno task start\` ` +
          "grants ./data only; keep DATA_DIR under ./data, or run main.ts with " +
          `--allow-read=<DATA_DIR> --allow-write=<DATA_DIR> (see README, Self-hosting)`,
      );
    }
  }
}

/**
 * Waits until the slot holder has published and confirmed every transaction committed
 * before this call; true when it has (or holds nothing to confirm), false at `deadline`.
 * The marker message gives the stream something to confirm past even when the last
 * transaction touched no synced table.
 */
async function confirmCommitted(
  driver: Driver,
  listener: ListenerLike,
  deadline: number,
): Promise<boolean> {
  if (listener.state().role !== "holder") return true;
  const [{ lsn }] = await driver.query<{ lsn: string }>(
    "select pg_current_wal_insert_lsn()::text as lsn",
  );
  await driver.query("select pg_logical_emit_message(false, 'devpocket', 'shutdown')");
  const target = parseLsn(lsn);
  while (Date.now() < deadline) {
    const acked = listener.state().lastAckedLsn;
    if (acked !== null && parseLsn(acked) >= target) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/**
 * The head and stats cache where it sees every commit of the deployment: the shared Redis
 * (one, or a cluster; this process's repeated advances not sent), or this process's memory
 * in the embedded default (one process). Elsewhere (Postgres without Redis; Upstash, whose
 * every lookup is an HTTPS round trip) there is none.
 */
function openSyncCache(kv: KvConnection, embedded: boolean): SyncCache | null {
  if (kv.kind === "redis" || kv.kind === "redis-cluster") {
    return new RememberedAdvances(new RedisSyncCache(kv.client));
  }
  return kv.kind === "none" && embedded ? new MemorySyncCache() : null;
}

/**
 * What a job does once it committed tombstones for a user: the cached head moves past
 * them (as after a push), then, in the embedded default, the change event is published
 * (on Postgres the replication listener publishes it from the WAL).
 */
function jobNotice(
  cache: SyncCache | null,
  publish: ((userId: string, head: number) => Promise<void>) | null,
) {
  return async (userId: string, head: number): Promise<void> => {
    await cache?.advance(userId, head).catch(() => {});
    await publish?.(userId, head);
  };
}
