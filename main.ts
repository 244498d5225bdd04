/** Composition root: configuration, the service, the HTTP server, shutdown. Nothing else. */
import { ConfigError, loadConfig, verifiesWithSecret } from "./config.ts";
import { startService } from "./service.ts";
import { createLogger } from "./sync/logger.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}
const logger = createLogger(config.LOG_LEVEL);
const service = await startService(config, logger);

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

async function shutdown(signal: string) {
  logger.info("Shutting down", { signal });
  await service.hub.close();
  await server.shutdown();
  await service.close();
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void shutdown(signal));
}
