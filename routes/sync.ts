import { Hono } from "hono";
import { PullQuery, PushBody } from "../sync/change_schema.ts";
import type { SyncService } from "../sync/sync_service.ts";
import { type AuthDeps, requireAuth } from "./auth.ts";
import type { AppEnv } from "./env.ts";
import type { LimitDeps } from "./rate_limit.ts";
import { jsonBody, queryParams } from "./validate.ts";
import type { StatsService } from "../sync/stats_service.ts";
import type { ConflictService } from "../sync/conflict_service.ts";
import { conflictRoutes } from "./conflicts.ts";
import type { ReceiptsService } from "../sync/receipts.ts";
import type { RedactionService } from "../sync/redaction.ts";
import { itemRoutes } from "./items.ts";

const UTF8 = new TextEncoder();

/** `/api/sync`: push, pull, stats and conflicts, for device tokens. */
export function syncRoutes(
  deps: AuthDeps & LimitDeps & {
    sync: SyncService;
    stats: StatsService;
    conflicts: ConflictService;
    receipts: ReceiptsService;
    redaction: RedactionService;
  },
): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .use(requireAuth(deps, "device"), deps.limit)
    .post("/data", jsonBody(PushBody, { judgedPerChange: true }), async (c) => {
      return c.json(await deps.sync.push(c.get("device")!, c.req.valid("json").changes));
    })
    .get("/data", queryParams(PullQuery), async (c) => {
      // Already JSON text (SyncService.pull), the same Content-Type as c.json; encoded once
      // here with its length, so the request log need not read the body back to measure it.
      const body = UTF8.encode(await deps.sync.pull(c.get("device")!, c.req.valid("query")));
      return c.body(body, 200, {
        "content-type": "application/json",
        "content-length": String(body.length),
      });
    })
    .get("/stats", async (c) => {
      return c.json(await deps.stats.forUser(c.get("account")));
    })
    .route("/conflicts", conflictRoutes(deps))
    .route("/", itemRoutes(deps));
}
