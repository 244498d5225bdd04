/** The service as the socket benchmarks run it, and where its devices' sockets connect. */
import { WS_PROTOCOL } from "../../sync/ws/messages.ts";
import { benchRedisClusterUrls, benchRedisUrl } from "./bench_env.ts";
import { type ServerProcess, startServer } from "./server_process.ts";
import type { SocketTarget } from "./ws_fleet.ts";

const SECRET = "bench-secret-that-is-at-least-32-characters-long";

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
