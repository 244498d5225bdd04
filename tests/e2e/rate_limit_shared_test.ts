/**
 * Rate limits as main.ts wires them, across two instances on one Postgres and one Redis:
 * a device's budget is one budget wherever its requests land, not one per instance.
 */
import assert from "node:assert/strict";
import { openInstance } from "../support/instance.ts";
import { testRedisUrl } from "../support/services.ts";
import { openReplicationDb } from "../sync/replication/support.ts";
import { randomUser, register } from "./devices.ts";

Deno.test("two instances sharing Redis share each device's budget (RATE_LIMITS override)", async () => {
  await using db = await openReplicationDb();
  const common = {
    databaseUrl: db.url,
    redisUrl: testRedisUrl(),
    slot: db.slot,
    env: { RATE_LIMITS: JSON.stringify({ pro: { device: 10 } }) },
  };
  await using a = await openInstance(common);
  await using b = await openInstance({ ...common, role: "api" });
  const device = await register(a, randomUser(), "phone");
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 12; i++) {
    last = await (i % 2 ? b : a).request("GET", "/api/sync/data", { token: device.token });
    statuses.push(last.status);
    if (i < 11) await last.body?.cancel();
  }
  assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429]);
  assert.equal(last!.headers.get("ratelimit-policy"), `"device";q=10;w=60, "user";q=4800;w=60`);
  assert.equal((await last!.json()).error.code, "SYNC_RATE_LIMITED");
});
