/**
 * One running instance, built from configuration: the same wiring for main.ts, the
 * end-to-end tests and the benchmarks' server process.
 */
import type { Hono } from "hono";
import type { Config } from "./config.ts";
import type { Driver } from "./db/driver.ts";
import { openPgliteDriver } from "./db/pglite_driver.ts";
import { openPostgresDriver } from "./db/postgres_driver.ts";
import { migrate } from "./db/migrate.ts";
import { SqlStore } from "./db/sql_store.ts";
import { createApp } from "./routes/app.ts";
import type { AppEnv } from "./routes/env.ts";
import { AccountTokenVerifier } from "./sync/account_tokens.ts";
import type { Bus } from "./sync/bus/bus.ts";
import { MeteredBus } from "./sync/bus/metered_bus.ts";
import { openBus } from "./sync/bus/open_bus.ts";
import { inProcessNotifier, WAL_NOTIFIER } from "./sync/change_notifier.ts";
import { loadOrCreateDevSecret } from "./sync/dev_secret.ts";
import type { Logger } from "./sync/logger.ts";
import { Metrics } from "./sync/metrics.ts";
import { ReplicationListener } from "./sync/replication/listener.ts";
import { buildServices } from "./sync/services.ts";
import { Hub } from "./sync/ws/hub.ts";

/** What an instance runs for the replication listener (tests substitute a controllable one). */
export type ListenerLike = Pick<ReplicationListener, "start" | "stop" | "state">;

export interface Service {
  app: Hono<AppEnv>;
  hub: Hub;
  bus: Bus;
  store: SqlStore;
  driver: Driver;
  listener: ListenerLike | null;
  /** True on the embedded database (no DATABASE_URL). */
  embedded: boolean;
  /**
   * Closes sockets (1012), the listener, the bus and the database, in that order. Call
   * `hub.close()` before stopping the HTTP server (open sockets would hold it), this after.
   */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Replaces the listener built from `config` (only consulted where one would run). */
  listener?: (bus: Bus) => ListenerLike;
  /** An in-memory embedded database instead of `DATA_DIR` (benchmarks). */
  inMemory?: boolean;
}

/** Opens the database, migrates, connects the bus, starts the listener and builds the app. */
export async function startService(
  config: Config,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<Service> {
  const embedded = !config.DATABASE_URL;
  const driver = config.DATABASE_URL
    ? openPostgresDriver(config.DATABASE_URL)
    : await openPgliteDriver(options.inMemory ? undefined : `${config.DATA_DIR}/pgdata`);
  const applied = await migrate(driver);
  if (applied.length > 0) logger.info("Migrations applied", { migrations: applied });

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
  const metrics = new Metrics();
  const bus = new MeteredBus(await openBus(config, { logger }), metrics);
  const notifier = embedded
    ? inProcessNotifier(bus, (error) => logger.warn("In-process publish failed", { error }))
    : WAL_NOTIFIER;
  const store = new SqlStore(driver);
  const hub = new Hub({
    bus,
    store,
    logger,
    allowedOrigins: config.WS_ALLOWED_ORIGINS,
    metrics,
  });
  // Edge instances (ROLE=api) never open a replication connection; the embedded database has no WAL.
  const listener = config.DATABASE_URL && config.ROLE !== "api"
    ? options.listener?.(bus) ??
      new ReplicationListener({
        databaseUrl: config.DATABASE_URL,
        slot: config.REPLICATION_SLOT,
        bus,
        logger,
      })
    : null;
  await listener?.start();
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
    ...buildServices(store, notifier, Date.now, metrics),
  });
  return {
    app,
    hub,
    bus,
    store,
    driver,
    listener,
    embedded,
    async close() {
      await hub.close();
      await listener?.stop();
      await bus.close();
      await driver.close();
    },
  };
}
