import { Hono } from "hono";
import { z } from "zod";
import type { ConflictService } from "../sync/conflict_service.ts";
import type { AppEnv } from "./env.ts";
import { jsonBody, pathUuid, queryParams } from "./validate.ts";

export const ListQuery = z.strictObject({ status: z.enum(["open", "resolved"]).default("open") });
export const ResolveBody = z.strictObject({
  resolution: z.enum(["local", "remote", "merged"]),
  data: z.record(z.string(), z.unknown()).optional(),
  remember: z.boolean().optional(),
});

/** `/api/sync/conflicts`: list and resolve manual conflicts (mounted behind device auth). */
export function conflictRoutes(
  deps: { conflicts: ConflictService },
): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", queryParams(ListQuery), async (c) => {
      const { status } = c.req.valid("query");
      return c.json({ conflicts: await deps.conflicts.list(c.get("account").userId, status) });
    })
    .post("/:id/resolve", jsonBody(ResolveBody), async (c) => {
      const id = pathUuid(c.req.param("id"), "conflict");
      return c.json(await deps.conflicts.resolve(c.get("device")!, id, c.req.valid("json")));
    });
}
