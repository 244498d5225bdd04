/** Composition root: configuration, the service, the HTTP server, shutdown. Nothing else. */
import { loadConfig, orExitOnConfigError, verifiesWithSecret } from "./config.ts";
import { SHUTDOWN_GRACE_MS, startService } from "./service.ts";
import { createLogger } from "./sync/logger.ts";

const config = await orExitOnConfigError(() => loadConfig(Deno.env.toObject()));
const logger = createLogger(config.LOG_LEVEL);
const service = await orExitOnConfigError(() => startService(config, logger));

const server = Deno.serve({
  hostname: config.HOST,
  port: config.PORT,
  onListen: ({ hostname, port }) => {
    logger.info("DevPocket Sync listening", {
      url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
      database: service.embedded ? `embedded (${config.DATA_DIR}/pgdata)` : "postgres",
      bus: service.bus.kind,
      role: config.ROLE,
    });
    // Only HS256 tokens can be minted here; with a key or a JWKS the identity provider signs.
    if (verifiesWithSecret(config) && config.ROLE !== "listener") {
      logger.info("Mint an account token with: deno task mint-token --user <id> --tier pro");
    }
  },
}, service.app.fetch);

/**
 * Drains within SHUTDOWN_GRACE_MS: no new connections; sockets close with 1012 (devices
 * reconnect elsewhere and catch up by cursor); requests in flight, pushes included, finish
 * and answer; the listener confirms what was committed; then the pools close.
 */
async function shutdown(signal: string) {
  const deadline = Date.now() + SHUTDOWN_GRACE_MS;
  logger.info("Shutting down", { signal, grace_ms: SHUTDOWN_GRACE_MS });
  // must: close sockets before the server does (it would close them with 1001, not 1012).
  // Meanwhile the hub refuses new sockets with 1012 and requests are still served.
  await service.hub.close();
  // Closes the listening socket; settles once every request in flight has answered.
  const served = server.shutdown();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drained = await Promise.race([
    served.then(() => true),
    new Promise<false>((resolve) =>
      timer = setTimeout(() => resolve(false), deadline - Date.now())
    ),
  ]);
  clearTimeout(timer);
  if (!drained) logger.warn("Shutdown: requests still in flight at the deadline are cut off");
  await service.close({ drainUntil: deadline });
  logger.info("Shut down", { signal });
  Deno.exit(0);
}
let stopping: Promise<void> | null = null;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void (stopping ??= shutdown(signal)));
}
