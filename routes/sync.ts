import { Hono } from "hono";
import { PullQuery, PushBody } from "../sync/change_schema.ts";
import type { SyncService } from "../sync/sync_service.ts";
import { type AuthDeps, requireAuth } from "./auth.ts";
import type { AppEnv } from "./env.ts";
import type { LimitDeps } from "./rate_limit.ts";
import { sizedJson } from "./sized_json.ts";
import { jsonBody, queryParams } from "./validate.ts";
import type { StatsService } from "../sync/stats_service.ts";
import type { ConflictService } from "../sync/conflict_service.ts";
import { conflictRoutes } from "./conflicts.ts";
import type { ReceiptsService } from "../sync/receipts.ts";
import type { RedactionService } from "../sync/redaction.ts";
import { itemRoutes } from "./items.ts";

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
      const result = await deps.sync.push(c.get("device")!, c.req.valid("json").changes);
      return sizedJson(c, JSON.stringify(result));
    })
    .get("/data", queryParams(PullQuery), async (c) => {
      // Already JSON text (SyncService.pull).
      return sizedJson(c, await deps.sync.pull(c.get("device")!, c.req.valid("query")));
    })
    .get("/stats", async (c) => {
      return c.json(await deps.stats.forUser(c.get("account")));
    })
    .route("/conflicts", conflictRoutes(deps))
    .route("/", itemRoutes(deps));
}
