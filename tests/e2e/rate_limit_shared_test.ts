/**
 * Rate limits and the head cache as main.ts wires them, across two instances on one
 * Postgres and one Redis, or one Redis Cluster: a device's budget is one budget wherever
 * its requests land, not one per instance, and the head the instances cache is shared.
 */
import assert from "node:assert/strict";
import { decodeCursor } from "../../sync/cursor.ts";
import { userKey } from "../../sync/redis_keys.ts";
import { openInstance } from "../support/instance.ts";
import { openTestKv, REDIS_BACKENDS } from "../support/redis_backends.ts";
import { openReplicationDb } from "../sync/replication/support.ts";
import { push, randomUser, register } from "./devices.ts";

for (const [name, backend] of Object.entries(REDIS_BACKENDS)) {
  Deno.test(`two instances sharing a ${name} share each device's budget (RATE_LIMITS override) and its cached head`, async () => {
    await using db = await openReplicationDb();
    const redis = backend.shared();
    const common = {
      databaseUrl: db.url,
      ...("REDIS_URL" in redis
        ? { redisUrl: redis.REDIS_URL }
        : { redisUrl: "", redisClusterUrls: redis.REDIS_CLUSTER_URLS.join(",") }),
      slot: db.slot,
      env: { RATE_LIMITS: JSON.stringify({ pro: { device: 10 } }) },
    };
    await using a = await openInstance(common);
    await using b = await openInstance({ ...common, role: "api" });
    const user = randomUser();
    const device = await register(a, user, "phone");
    const pushed = await push(b, device);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 12; i++) {
      const since = i === 0 ? "" : pushed.cursor;
      last = await (i % 2 ? b : a).request("GET", `/api/sync/data?since=${since}`, {
        token: device.token,
      });
      statuses.push(last.status);
      if (i < 11) await last.body?.cancel();
    }
    // The push counted too.
    assert.deepEqual(statuses, [...Array(9).fill(200), 429, 429, 429]);
    assert.equal(last!.headers.get("ratelimit-policy"), `"device";q=10;w=60, "user";q=4800;w=60`);
    assert.equal((await last!.json()).error.code, "SYNC_RATE_LIMITED");

    await using kv = await openTestKv(redis);
    assert.equal(
      await kv.kv.client.zScore(userKey(user, "head"), "head"),
      decodeCursor(pushed.cursor),
    );
  });
}
