/**
 * The shared head cache without this process's repeated advances: over the memory cache
 * (counted), and on the test Redis as ROLE=all runs it (a push's advance, then the
 * replication listener's publish of the same commit through the head-tracking bus).
 */
import assert from "node:assert/strict";
import { withHeadTracking } from "../../../sync/cache/head_tracking_bus.ts";
import { RedisSyncCache } from "../../../sync/cache/redis_sync_cache.ts";
import {
  REMEMBERED_ADVANCE_MS,
  RememberedAdvances,
} from "../../../sync/cache/remembered_advances.ts";
import { MemorySyncCache, type SyncCache } from "../../../sync/cache/sync_cache.ts";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { encodeCursor } from "../../../sync/cursor.ts";
import { userChannel } from "../../../sync/events.ts";
import { userKey } from "../../../sync/redis_keys.ts";
import { openTestKv, REDIS_BACKENDS } from "../../support/redis_backends.ts";
import { countingCalls } from "../../support/spies.ts";

/** The memory cache behind the wrapper, its advances counted, on a clock the test moves. */
function remembered(maxOwners?: number) {
  let now = 1_000_000;
  const clock = () => now;
  const inner = new MemorySyncCache(clock);
  const { proxy, calls } = countingCalls<SyncCache, "advance">(inner, ["advance"]);
  return {
    cache: new RememberedAdvances(proxy, clock, maxOwners),
    inner,
    sent: () => calls.advance,
    wait: (ms: number) => now += ms,
  };
}

/** The memory cache with `advance` replaced: a stand-in for a cache that is slow or fails. */
function withAdvance(advance: SyncCache["advance"]): SyncCache {
  const inner = new MemorySyncCache();
  return {
    head: (userId) => inner.head(userId),
    stats: (userId) => inner.stats(userId),
    putStats: (userId, stats) => inner.putStats(userId, stats),
    close: () => inner.close(),
    advance: (userId, seq) => advance.call(inner, userId, seq),
  };
}

Deno.test("remembered advances: an advance repeated, or lower, is sent once; a higher one is sent and raises the head", async () => {
  const r = remembered();
  await r.cache.advance("u", 5);
  await r.cache.advance("u", 5);
  await r.cache.advance("u", 3);
  assert.equal(r.sent(), 1);
  await r.cache.advance("u", 6);
  assert.equal(r.sent(), 2);
  assert.equal(await r.cache.head("u"), 6);
  await r.cache.advance("v", 6);
  assert.equal(r.sent(), 3, "owners are remembered apart");
});

Deno.test("remembered advances: past half the head's lifetime the same advance is sent again, renewing its expiry", async () => {
  const r = remembered();
  await r.cache.advance("u", 5);
  r.wait(REMEMBERED_ADVANCE_MS - 1);
  await r.cache.advance("u", 5);
  assert.equal(r.sent(), 1);
  r.wait(1);
  await r.cache.advance("u", 5);
  assert.equal(r.sent(), 2);
  assert.equal(await r.cache.head("u"), 5);
});

Deno.test("remembered advances: callers of an advance on its way share it (a stand-in cache that answers when told)", async () => {
  const pending = Promise.withResolvers<void>();
  let sent = 0;
  const cache = new RememberedAdvances(withAdvance(() => (sent++, pending.promise)));
  const first = cache.advance("u", 5);
  const second = cache.advance("u", 4);
  assert.equal(sent, 1);
  let settled = false;
  void second.then(() => settled = true);
  await Promise.resolve();
  assert.equal(settled, false, "the second waits for the one on its way");
  pending.resolve();
  await Promise.all([first, second]);
  assert.equal(settled, true);
});

Deno.test("remembered advances: a failed advance is not remembered, and any failure forgets every owner (a stand-in cache that fails once)", async () => {
  let failNext = false;
  const sent: string[] = [];
  const flaky = new RememberedAdvances(withAdvance(function (this: SyncCache, userId, seq) {
    sent.push(`${userId}@${seq}`);
    if (failNext) {
      failNext = false;
      return Promise.reject(new Error("Redis is down"));
    }
    return this.advance(userId, seq);
  }));
  await flaky.advance("a", 1);
  failNext = true;
  await assert.rejects(flaky.advance("b", 1), /Redis is down/);
  await flaky.advance("b", 1);
  await flaky.advance("a", 1);
  assert.deepEqual(sent, ["a@1", "b@1", "b@1", "a@1"]);
  assert.equal(await flaky.head("b"), 1);
  await flaky.advance("a", 1);
  assert.equal(sent.length, 4, "remembered again once sent without failing");
});

Deno.test("remembered advances: a head read missing or behind (the server restarted empty) is forgotten, so the next advance records it again", async () => {
  const r = remembered();
  await r.cache.advance("u", 5);
  await r.inner.close(); // What the shared cache holds is gone.
  assert.equal(await r.cache.head("u"), null);
  await r.cache.advance("u", 5);
  assert.equal(r.sent(), 2);
  assert.equal(await r.cache.head("u"), 5);

  await r.cache.advance("v", 7);
  await r.inner.close();
  assert.equal((await r.cache.stats("v")).head, null);
  await r.cache.advance("v", 7);
  assert.equal(r.sent(), 4);
  assert.equal((await r.cache.stats("v")).head, 7);
});

Deno.test("remembered advances: at most maxOwners are remembered, the oldest forgotten first", async () => {
  const r = remembered(3);
  for (let i = 0; i < 5; i++) await r.cache.advance(`u${i}`, 1);
  assert.equal(r.cache.size, 3);
  await r.cache.advance("u4", 1);
  assert.equal(r.sent(), 5, "the newest is remembered");
  await r.cache.advance("u0", 1);
  assert.equal(r.sent(), 6, "the oldest was forgotten");
});

Deno.test("[redis] remembered advances: as ROLE=all runs them, a push's advance and the listener's publish of its commit send one advance to Redis, and the head there is the commit's", async () => {
  await using kv = await openTestKv(REDIS_BACKENDS.Redis.shared());
  const redis = new RedisSyncCache(kv.kv.client);
  const { proxy, calls } = countingCalls<SyncCache, "advance">(redis, ["advance"]);
  const cache = new RememberedAdvances(proxy);
  const bus = withHeadTracking(new MemoryBus(), cache, (error) => {
    throw error;
  });
  const userId = `remembered-${crypto.randomUUID()}`;
  const heard: string[] = [];
  await bus.subscribe(userChannel(userId), (message) => heard.push(message));
  try {
    for (const seq of [1, 2, 3]) {
      await cache.advance(userId, seq); // The push, after its commit.
      await bus.publish( // The listener, once the commit reaches it through the WAL.
        userChannel(userId),
        JSON.stringify({
          type: "changes",
          cursor: encodeCursor(seq),
          collections: ["command_history"],
          origin_device_id: null,
        }),
      );
      assert.equal(calls.advance, seq, `one advance sent for commit ${seq}`);
      assert.equal(await kv.kv.client.zScore(userKey(userId, "head"), "head"), seq);
    }
    assert.equal(heard.length, 3, "every event still published");
  } finally {
    await bus.close();
  }
});
