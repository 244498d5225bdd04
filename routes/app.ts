import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../sync/errors.ts";
import type { Logger } from "../sync/logger.ts";
import type { AccountTokenVerifier } from "../sync/account_tokens.ts";
import type { DeviceService } from "../sync/device_service.ts";
import type { StatsService } from "../sync/stats_service.ts";
import type { ConflictService } from "../sync/conflict_service.ts";
import type { SyncService } from "../sync/sync_service.ts";
import type { Hub } from "../sync/ws/hub.ts";
import { consoleRoutes } from "./console.ts";
import { deviceRoutes } from "./devices.ts";
import { healthRoutes, type Readiness } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import { openapiRoutes } from "./openapi.ts";
import { RequestCounters, requestLog } from "./request_log.ts";
import type { AppEnv } from "./env.ts";
import { errorBody, errorHandler } from "./errors.ts";
import { syncRoutes } from "./sync.ts";
import { wsRoutes } from "./ws.ts";

/** Everything the HTTP app needs, built by main.ts (or a test) and passed in. */
export interface AppDeps {
  logger: Logger;
  accounts: AccountTokenVerifier;
  devices: DeviceService;
  sync: SyncService;
  stats: StatsService;
  conflicts: ConflictService;
  hub: Hub;
  readiness: Readiness;
  /** False for ROLE=listener: only health and readiness are served. */
  apiEnabled: boolean;
  maxBodyBytes: number;
}

/** The Hono app: routes, body limit and the one error mapper. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const counters = new RequestCounters();
  app.use(requestLog(deps.logger, counters));
  app.onError(errorHandler(deps.logger));
  app.notFound((c) => c.json(errorBody(new AppError("NOT_FOUND", "No such endpoint")), 404));
  app.route("/", healthRoutes(deps.readiness));
  app.route("/", openapiRoutes());
  app.route(
    "/",
    metricsRoutes({
      hub: deps.apiEnabled ? deps.hub : null,
      listener: deps.readiness.listener,
      requests: counters,
    }),
  );
  if (!deps.apiEnabled) return app;
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new AppError(
          "PAYLOAD_TOO_LARGE",
          `The request body is larger than ${deps.maxBodyBytes} bytes`,
          {
            limit: deps.maxBodyBytes,
          },
        );
      },
    }),
  );
  app.route("/api/devices", deviceRoutes(deps));
  // Before the sync routes: their auth middleware wants a header a browser socket cannot send.
  app.route("/api/sync", wsRoutes(deps));
  app.route("/api/sync", syncRoutes(deps));
  app.route("/console", consoleRoutes());
  return app;
}
