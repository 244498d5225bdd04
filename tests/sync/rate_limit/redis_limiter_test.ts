/**
 * The shared limiter against real Redis, one server and a three-master Redis Cluster: one
 * budget for every instance, and the outage.
 */
import assert from "node:assert/strict";
import { openLimiter } from "../../../sync/rate_limit/open_limiter.ts";
import { eventually } from "../../support/eventually.ts";
import { openTestKv, REDIS_BACKENDS } from "../../support/redis_backends.ts";
import { allowedOf, assertOneBudget, freshKey } from "./shared_budget.ts";

for (const [name, backend] of Object.entries(REDIS_BACKENDS)) {
  Deno.test(`RedisLimiter (${name}): two instances share one budget, not one each`, async () => {
    await using kvA = await openTestKv(backend.shared());
    await using kvB = await openTestKv(backend.shared());
    const [a, b] = [await openLimiter(kvA.kv), await openLimiter(kvB.kv)];
    assert.deepEqual([a.kind, b.kind], ["redis", "redis"]);
    const key = freshKey();
    await assertOneBudget(a, b, key, 5);
    // Counted under the key as named, no prefix: its hash tag picks the slot.
    assert.equal(await kvA.get(key), "5");
  });

  Deno.test(`RedisLimiter (${name}): while the key's server is down each instance counts in memory, fast; back, shared again`, async () => {
    await using redis = await backend.own();
    await using kv = await openTestKv(redis.config);
    const limiter = await openLimiter(kv.kv);
    const user = crypto.randomUUID();
    const key = freshKey(user);
    assert.deepEqual(await allowedOf(limiter, key, 2), [true, true]);

    await redis.crash(key);
    const started = performance.now();
    // The insurance limiter starts from zero: the same budget, on this instance only.
    const during = await allowedOf(limiter, key, 4);
    const ms = performance.now() - started;
    assert.deepEqual(during, [true, true, true, false]);
    assert.ok(ms < 1_000, `4 checks took ${ms.toFixed(0)} ms while Redis was down`);

    await redis.restart();
    await eventually(() => kv.get(key).then(() => true, () => false), 15_000, "Redis back");
    // Another device of the same user: the same slot, on the server that was away.
    const shared = freshKey(user);
    assert.deepEqual(await allowedOf(limiter, shared, 4), [true, true, true, false]);
    // Counted in Redis again, where a second instance sees it.
    assert.equal(await kv.get(shared), "4");
  });
}
