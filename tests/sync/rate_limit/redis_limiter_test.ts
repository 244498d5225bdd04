/** The shared limiters against real Redis: one budget for every instance, and the outage. */
import assert from "node:assert/strict";
import { SILENT_LOGGER } from "../../../sync/logger.ts";
import { openKvConnection } from "../../../sync/kv_connection.ts";
import type { Limiter, Quota } from "../../../sync/rate_limit/limiter.ts";
import { RedisLimiter } from "../../../sync/rate_limit/redis_limiter.ts";
import { testRedisUrl } from "../../support/services.ts";
import { startThrowawayRedis } from "../bus/throwaway_redis.ts";

const QUOTA: Quota = { limit: 3, windowSeconds: 60 };

async function allowedOf(limiter: Limiter, key: string, n: number, quota = QUOTA) {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await limiter.consume(key, quota)).allowed);
  return out;
}

Deno.test("RedisLimiter: two instances share one budget, not one each", async () => {
  const [kvA, kvB] = await Promise.all([
    openKvConnection({ REDIS_URL: testRedisUrl() }, SILENT_LOGGER),
    openKvConnection({ REDIS_URL: testRedisUrl() }, SILENT_LOGGER),
  ]);
  try {
    if (kvA.kind !== "redis" || kvB.kind !== "redis") throw new Error("expected Redis");
    const [a, b] = [new RedisLimiter(kvA.client), new RedisLimiter(kvB.client)];
    const key = `device:${crypto.randomUUID()}`;
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(await (i % 2 ? b : a).consume(key, QUOTA));
    assert.deepEqual(verdicts.map((v) => [v.allowed, v.remaining]), [
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
    ]);
    assert.ok(verdicts.every((v) => v.resetSeconds >= 1 && v.resetSeconds <= 60));
  } finally {
    await Promise.all([kvA.close(), kvB.close()]);
  }
});

Deno.test("RedisLimiter: while Redis is down each instance counts in memory, fast; back, shared again", async () => {
  await using redis = await startThrowawayRedis();
  const kv = await openKvConnection({ REDIS_URL: redis.url }, SILENT_LOGGER);
  try {
    if (kv.kind !== "redis") throw new Error("expected Redis");
    const limiter = new RedisLimiter(kv.client);
    const key = `device:${crypto.randomUUID()}`;
    assert.deepEqual(await allowedOf(limiter, key, 2), [true, true]);

    await redis.stop();
    const started = performance.now();
    // The insurance limiter starts from zero: the same budget, on this instance only.
    const during = await allowedOf(limiter, `device:${crypto.randomUUID()}`, 4);
    const ms = performance.now() - started;
    assert.deepEqual(during, [true, true, true, false]);
    assert.ok(ms < 1_000, `4 checks took ${ms.toFixed(0)} ms while Redis was down`);

    await redis.start();
    await waitReady(kv.client);
    const shared = `device:${crypto.randomUUID()}`;
    assert.deepEqual(await allowedOf(limiter, shared, 4), [true, true, true, false]);
    // Counted in Redis again, where a second instance sees it.
    assert.equal(await kv.client.get(`devpocket:rl:${shared}`), "4");
  } finally {
    await kv.close();
  }
});

async function waitReady(client: { isReady: boolean }) {
  const deadline = Date.now() + 10_000;
  while (!client.isReady) {
    if (Date.now() > deadline) throw new Error("Redis client did not reconnect");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
