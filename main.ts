/** Composition root: configuration, store, bus, app, server, shutdown. Nothing else. */
import { ConfigError, loadConfig } from "./config.ts";
import { openPgliteDriver } from "./db/pglite_driver.ts";
import { openPostgresDriver } from "./db/postgres_driver.ts";
import { migrate } from "./db/migrate.ts";
import { Store } from "./db/store.ts";
import { createApp } from "./routes/app.ts";
import { AccountTokenVerifier } from "./sync/account_tokens.ts";
import { openBus } from "./sync/bus/open_bus.ts";
import { inProcessNotifier, WAL_NOTIFIER } from "./sync/change_notifier.ts";
import { loadOrCreateDevSecret } from "./sync/dev_secret.ts";
import { createLogger } from "./sync/logger.ts";
import { buildServices } from "./sync/services.ts";
import { ReplicationListener } from "./sync/replication/listener.ts";
import { Hub } from "./sync/ws_hub.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}
const logger = createLogger(config.LOG_LEVEL);
const embedded = !config.DATABASE_URL;
if (!embedded && !config.JWT_SECRET && !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL) {
  console.error(
    "JWT_SECRET (or JWT_PUBLIC_KEY / JWT_JWKS_URL) must be set with DATABASE_URL: every instance must verify the same account tokens",
  );
  Deno.exit(1);
}

const driver = config.DATABASE_URL
  ? openPostgresDriver(config.DATABASE_URL)
  : await openPgliteDriver(`${config.DATA_DIR}/pgdata`);
const applied = await migrate(driver);
if (applied.length > 0) logger.info("Migrations applied", { migrations: applied });

const jwtSecret = config.JWT_SECRET ??
  (embedded && !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL
    ? await loadOrCreateDevSecret(config.DATA_DIR)
    : undefined);
const accounts = await AccountTokenVerifier.create({
  secret: jwtSecret,
  publicKey: config.JWT_PUBLIC_KEY,
  jwksUrl: config.JWT_JWKS_URL,
  algorithm: config.JWT_ALGORITHM,
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
});
const bus = await openBus(config, { logger });
const notifier = embedded
  ? inProcessNotifier(bus, (error) => logger.warn("In-process publish failed", { error }))
  : WAL_NOTIFIER;
const store = new Store(driver);
const hub = new Hub({ bus, store, logger, allowedOrigins: config.WS_ALLOWED_ORIGINS });
// Edge instances (ROLE=api) never open a replication connection; the embedded database has no WAL.
const listener = config.DATABASE_URL && config.ROLE !== "api"
  ? new ReplicationListener({
    databaseUrl: config.DATABASE_URL,
    slot: config.REPLICATION_SLOT,
    bus,
    logger,
  })
  : null;
await listener?.start();
const app = createApp({
  logger,
  accounts,
  maxBodyBytes: config.MAX_BODY_BYTES,
  hub,
  readiness: { driver, bus, listener },
  apiEnabled: config.ROLE !== "listener",
  ...buildServices(store, notifier),
});

const server = Deno.serve({
  port: config.PORT,
  onListen: ({ hostname, port }) => {
    logger.info("DevPocket Sync listening", {
      url: `http://${hostname}:${port}`,
      database: embedded ? `embedded (${config.DATA_DIR}/pgdata)` : "postgres",
      bus: bus.kind,
      role: config.ROLE,
    });
    if (embedded && !config.JWT_SECRET) {
      logger.info("Mint an account token with: deno task mint-token --user <id> --tier pro");
    }
  },
}, app.fetch);

async function shutdown(signal: string) {
  logger.info("Shutting down", { signal });
  await hub.close();
  await server.shutdown();
  await listener?.stop();
  await bus.close();
  await driver.close();
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void shutdown(signal));
}
