import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../sync/errors.ts";
import type { Logger } from "../sync/logger.ts";
import type { Metrics } from "../sync/metrics.ts";
import type { AccountTokenVerifier } from "../sync/account_tokens.ts";
import type { DeviceService } from "../sync/device_service.ts";
import type { StatsService } from "../sync/stats_service.ts";
import type { ConflictService } from "../sync/conflict_service.ts";
import type { SyncService } from "../sync/sync_service.ts";
import type { ReceiptsService } from "../sync/receipts.ts";
import type { RedactionService } from "../sync/redaction.ts";
import type { Hub } from "../sync/ws/hub.ts";
import { compression } from "./compress.ts";
import { consoleRoutes } from "./console.ts";
import { deviceRoutes } from "./devices.ts";
import { docsRoutes } from "./docs.ts";
import { Endpoints } from "./endpoints.ts";
import { healthRoutes, type Readiness } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import { openapiRoutes } from "./openapi.ts";
import { authFailureLimit, type LimitDeps, rateLimit, type RateLimiting } from "./rate_limit.ts";
import { requestLog } from "./request_log.ts";
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
  receipts: ReceiptsService;
  redaction: RedactionService;
  hub: Hub;
  readiness: Readiness;
  metrics: Metrics;
  /** False for ROLE=listener: only health, readiness, metrics and the docs are served. */
  apiEnabled: boolean;
  maxBodyBytes: number;
  /** Budgets per device, user and client address; absent → nothing is limited. */
  rateLimiting?: RateLimiting;
}

/** The Hono app: routes, body limit and the one error mapper. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const endpoints = new Endpoints(app);
  app.use(requestLog(deps.logger, deps.metrics, (c) => endpoints.pattern(c)));
  app.use(endpoints.methodNotAllowed());
  app.onError(errorHandler(deps.logger));
  // Inside the request log, so its byte counts are what went on the wire.
  app.use(compression());
  app.notFound((c) => c.json(errorBody(new AppError("NOT_FOUND", "No such endpoint")), 404));
  app.route("/", healthRoutes(deps.readiness));
  app.route("/", metricsRoutes(deps.metrics));
  app.route("/", openapiRoutes());
  app.route("/", docsRoutes());
  if (!deps.apiEnabled) return app;
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new AppError(
          "PAYLOAD_TOO_LARGE",
          `The request body is larger than ${deps.maxBodyBytes} bytes`,
          { limit: deps.maxBodyBytes },
        );
      },
    }),
  );
  const limiting = deps.rateLimiting;
  if (limiting) {
    app.use(
      "/api/*",
      authFailureLimit({ ...limiting, perMinute: limiting.authFailuresPerMinute }),
    );
  }
  const limit = limiting ? rateLimit(limiting) : undefined;
  const routed = { ...deps, limit: limit ?? ((_c, next) => next()) } satisfies LimitDeps;
  app.route("/api/devices", deviceRoutes(routed));
  // Before the sync routes: their auth middleware wants a header a browser socket cannot send.
  // Sockets are not counted here: the hub budgets their messages (4429).
  app.route("/api/sync", wsRoutes(deps));
  app.route("/api/sync", syncRoutes(routed));
  app.route("/console", consoleRoutes());
  return app;
}
