import { Hono } from "hono";
import type { ReceiptsService } from "../sync/receipts.ts";
import { RedactBody, type RedactionService } from "../sync/redaction.ts";
import type { AppEnv } from "./env.ts";
import { jsonBody } from "./validate.ts";

/**
 * `/api/sync`: delete receipts of an item and redaction (DESIGN.md §10), mounted behind
 * device auth.
 */
export function itemRoutes(
  deps: { receipts: ReceiptsService; redaction: RedactionService },
): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/items/:collection/:id/receipts", async (c) => {
      const { collection, id } = c.req.param();
      return c.json(await deps.receipts.forItem(c.get("account"), collection, id));
    })
    .post("/redact", jsonBody(RedactBody), async (c) => {
      return c.json(await deps.redaction.redact(c.get("device")!, c.req.valid("json")));
    });
}
