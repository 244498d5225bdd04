import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../routes/env.ts";
import { errorHandler } from "../../routes/errors.ts";
import { authFailureLimit, MAX_REFUSED_ADDRESSES } from "../../routes/rate_limit.ts";
import { SILENT_LOGGER } from "../../sync/logger.ts";
import { MemoryLimiter } from "../../sync/rate_limit/memory_limiter.ts";

/** An app whose only route answers 401, behind the failed-authentication budget. */
function refusingApp(perMinute: number) {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(SILENT_LOGGER));
  app.use(authFailureLimit({
    limiter: new MemoryLimiter(),
    perMinute,
    clientIpHeader: "x-forwarded-for",
  }));
  app.get("/", (c) => c.json({ error: "no" }, 401));
  return async (address: string) =>
    (await app.request("/", { headers: { "x-forwarded-for": address } })).status;
}

Deno.test("authFailureLimit refuses an address over budget from memory, and a flood from many addresses keeps memory bounded", async () => {
  const request = refusingApp(1);
  // One failure is within the budget, the second is over it, the third is refused unread.
  assert.deepEqual([await request("first"), await request("first"), await request("first")], [
    401,
    401,
    429,
  ]);
  for (let i = 0; i < MAX_REFUSED_ADDRESSES; i++) {
    await request(`flood-${i}`);
    await request(`flood-${i}`);
  }
  // The oldest refusal was forgotten to make room, so the first address reaches the route
  // again, is counted by the shared budget (still over it) and refused again; the newest
  // refusals are still held.
  assert.deepEqual(
    [await request("first"), await request("first")],
    [401, 429],
  );
  assert.equal(await request(`flood-${MAX_REFUSED_ADDRESSES - 1}`), 429);
});
