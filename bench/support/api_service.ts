/** The service as the socket benchmarks run it, and where its devices' sockets connect. */
import { WS_PROTOCOL } from "../../sync/ws/messages.ts";
import { benchRedisClusterUrls, benchRedisUrl } from "./bench_env.ts";
import { type ServerProcess, startServer } from "./server_process.ts";
import type { SocketTarget } from "./ws_fleet.ts";

/** The JWT secret of every bench server, for minting account tokens. */
export const BENCH_SECRET = "bench-secret-that-is-at-least-32-characters-long";
const SECRET = BENCH_SECRET;

/** The service as deployed (main.ts wiring, ROLE=all): Postgres, its WAL listener, the bench Redis. */
export function startWalService(
  db: { url: string; slot: string },
  logLevel: "warn" | "error" = "error",
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return startServer("service", {
    DATABASE_URL: db.url,
    REDIS_URL: benchRedisUrl(),
    REPLICATION_SLOT: db.slot,
    JWT_SECRET: SECRET,
    LOG_LEVEL: logLevel,
    ...env,
  });
}

/**
 * Pro budgets no load test reaches: the limiter still counts every request (its cost is
 * part of the figure) but refuses none.
 */
export const UNLIMITED_PRO = { RATE_LIMITS: JSON.stringify({ pro: { device: 1e7, user: 1e7 } }) };

/**
 * The embedded default as a self-hoster runs it: PGlite on disk in `dataDir` (not in
 * memory, so every commit pays its file system work), the in-process bus, no Redis.
 */
export function startEmbeddedService(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return startServer("service", {
    DATA_DIR: dataDir,
    JWT_SECRET: SECRET,
    LOG_LEVEL: "error",
    ...env,
  });
}

/**
 * The service (main.ts wiring, ROLE=api) on `databaseUrl` and the bench Redis (or, for
 * `redis-cluster`, the bench Redis Cluster), errors only.
 */
export function startApiService(
  databaseUrl: string,
  bus: "redis" | "redis-cluster" = "redis",
): Promise<ServerProcess> {
  return startServer("service", {
    DATABASE_URL: databaseUrl,
    ...(bus === "redis-cluster"
      ? { REDIS_CLUSTER_URLS: benchRedisClusterUrls() }
      : { REDIS_URL: benchRedisUrl() }),
    ROLE: "api",
    JWT_SECRET: SECRET,
    LOG_LEVEL: "error",
  });
}

/** A socket to the service's `/api/sync/ws` with the device token in the subprotocols. */
export function deviceSocket(service: ServerProcess, token: string): SocketTarget {
  return {
    url: service.url.replace(/^http/, "ws") + "/api/sync/ws",
    protocols: [WS_PROTOCOL, `bearer.${token}`],
  };
}
