import { Hono } from "hono";
import { z } from "zod";
import type { DeviceService } from "../sync/device_service.ts";
import { type AuthDeps, requireAuth } from "./auth.ts";
import type { AppEnv } from "./env.ts";
import type { LimitDeps } from "./rate_limit.ts";
import { jsonBody, pathUuid } from "./validate.ts";

export const RegisterBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  platform: z.string().trim().min(1).max(32),
  install_id: z.string().min(1).max(128).optional(),
  app_version: z.string().min(1).max(64).optional(),
});

/** `/api/devices`: register (account token), list and delete (account or device token). */
export function deviceRoutes(
  deps: AuthDeps & LimitDeps & { devices: DeviceService },
): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .post(
      "/register",
      requireAuth(deps, "account"),
      deps.limit,
      jsonBody(RegisterBody),
      async (c) => {
        const registered = await deps.devices.register(c.get("account"), c.req.valid("json"));
        return c.json(registered, 201);
      },
    )
    .get("/", requireAuth(deps, "either"), deps.limit, async (c) => {
      return c.json({ devices: await deps.devices.list(c.get("account")) });
    })
    .delete("/:id", requireAuth(deps, "either"), deps.limit, async (c) => {
      const id = pathUuid(c.req.param("id"), "device");
      await deps.devices.delete(c.get("account").userId, id);
      return c.body(null, 204);
    });
}
