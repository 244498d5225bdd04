/**
 * The head and stats cache in the service: the embedded default's memory cache, and the
 * Redis cache on the test Redis with Postgres.
 */
import assert from "node:assert/strict";
import { SqlStore } from "../../../db/sql_store.ts";
import { withHeadTracking } from "../../../sync/cache/head_tracking_bus.ts";
import { RedisSyncCache } from "../../../sync/cache/redis_sync_cache.ts";
import { MemorySyncCache, type SyncCache } from "../../../sync/cache/sync_cache.ts";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { inProcessNotifier, WAL_NOTIFIER } from "../../../sync/change_notifier.ts";
import { encodeCursor } from "../../../sync/cursor.ts";
import { SILENT_LOGGER } from "../../../sync/logger.ts";
import { openKvConnection } from "../../../sync/kv_connection.ts";
import { buildServices } from "../../../sync/services.ts";
import type { SyncStore } from "../../../sync/sync_store.ts";
import { command } from "../../support/changes.ts";
import { type DriverKind, openTestDb, withDrivers } from "../../support/drivers.ts";
import { testRedisUrl } from "../../support/services.ts";
import { startThrowawayRedis } from "../bus/throwaway_redis.ts";

const account = (userId: string) => ({
  userId,
  tier: "pro" as const,
  tierExpiresAt: null,
  teamId: null,
  teamRole: "member" as const,
});

/** Services over a store that counts its reads, with the cache wired as service.ts does. */
async function cachedServices(
  kind: DriverKind,
  { redisUrl = testRedisUrl(), events = true }: { redisUrl?: string; events?: boolean } = {},
) {
  const db = await openTestDb(kind);
  const kv = kind === "postgres"
    ? await openKvConnection({ REDIS_URL: redisUrl }, SILENT_LOGGER)
    : null;
  const cache: SyncCache = kv?.kind === "redis"
    ? new RedisSyncCache(kv.client)
    : new MemorySyncCache();
  const reads = { pull: 0, stats: 0 };
  const store = new SqlStore(db.driver);
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      if (name === "pull" || name === "stats") reads[name]++;
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as SyncStore;
  const bus = withHeadTracking(new MemoryBus(), cache, () => {});
  // Without events the writers alone advance the cache, as when the replication listener
  // is slow or down.
  const notifier = events ? inProcessNotifier(bus, () => {}) : WAL_NOTIFIER;
  const services = buildServices(counted, notifier, { cache });
  const userId = `cache-${crypto.randomUUID()}`;
  await store.saveAccount({ account: account(userId), issuedAt: 1 });
  const register = async (name: string) => {
    const { device } = await services.devices.register(account(userId), { name, platform: "ios" });
    return { deviceId: device.id, account: account(userId) };
  };
  return {
    ...services,
    reads,
    cache,
    userId,
    register,
    async [Symbol.asyncDispose]() {
      await bus.close();
      await kv?.close();
      await db[Symbol.asyncDispose]();
    },
  };
}

withDrivers("sync cache", (_open, kind) => {
  Deno.test({
    name: "a pull at the head reads nothing; a commit moves the head and the next pull reads it",
    fn: async () => {
      await using s = await cachedServices(kind);
      const [a, b] = [await s.register("a"), await s.register("b")];
      const first = await s.sync.push(a, [command("make")]);
      const full = await s.sync.pull(b, { limit: 100 });
      assert.equal(full.cursor, first.cursor);
      const reads = s.reads.pull;

      const atHead = await s.sync.pull(b, { since: full.cursor, limit: 100 });
      assert.deepEqual(atHead, { changes: [], cursor: full.cursor, has_more: false });
      assert.equal(s.reads.pull, reads, "answered from the cache");

      const second = await s.sync.push(a, [command("make test")]);
      const next = await s.sync.pull(b, { since: full.cursor, limit: 100 });
      assert.equal(s.reads.pull, reads + 1);
      assert.deepEqual(next.changes.map((c) => c.data?.command), ["make test"]);
      assert.equal(next.cursor, second.cursor);
      // Still validated on the fast path.
      await assert.rejects(
        s.sync.pull(b, { since: next.cursor, collections: "nope", limit: 100 }),
        /Unknown collection/,
      );
    },
  });

  Deno.test({
    name:
      "a push moves the cached head before it answers: a pull from the old head finds it with no event published",
    fn: async () => {
      await using s = await cachedServices(kind, { events: false });
      const [a, b] = [await s.register("a"), await s.register("b")];
      await s.sync.push(a, [command("make")]);
      const full = await s.sync.pull(b, { limit: 100 });
      const atHead = await s.sync.pull(b, { since: full.cursor, limit: 100 });
      assert.deepEqual(atHead.changes, []);
      await s.sync.push(a, [command("make test")]);
      const next = await s.sync.pull(b, { since: full.cursor, limit: 100 });
      assert.deepEqual(next.changes.map((c) => c.data?.command), ["make test"]);
    },
  });

  Deno.test({
    name: "a recorded head is never lowered, so it is never ahead of what committed",
    fn: async () => {
      await using s = await cachedServices(kind);
      const b = await s.register("b");
      await s.sync.push(b, [command("ls"), command("pwd"), command("id")]);
      await s.cache.advance(s.userId, 10);
      await s.cache.advance(s.userId, 4);
      assert.equal(await s.cache.head(s.userId), 10);
      // A device behind the cached head is answered from Postgres, which has less.
      const page = await s.sync.pull(b, { since: encodeCursor(3), limit: 100 });
      assert.equal(s.reads.pull, 1);
      assert.deepEqual(page.changes, []);
    },
  });

  Deno.test({
    name: "stats are served at the same head and recomputed once a write moves it",
    fn: async () => {
      await using s = await cachedServices(kind);
      const a = await s.register("a");
      await s.sync.push(a, [command("ls")]);
      const first = await s.stats.forUser(account(s.userId));
      const again = await s.stats.forUser(account(s.userId));
      // As the client sees it (JSON): the same answer.
      assert.deepEqual(JSON.parse(JSON.stringify(again)), JSON.parse(JSON.stringify(first)));
      assert.equal(s.reads.stats, 1);
      await s.sync.push(a, [command("ls -la")]);
      const after = await s.stats.forUser(account(s.userId));
      assert.equal(s.reads.stats, 2);
      assert.deepEqual(after.collections, { commands: { items: 2, deleted: 0 } });
    },
  });
});

Deno.test("[postgres] sync cache: with Redis down, pulls and stats are answered from Postgres", async () => {
  await using redis = await startThrowawayRedis();
  await using s = await cachedServices("postgres", { redisUrl: redis.url });
  const [a, b] = [await s.register("a"), await s.register("b")];
  const pushed = await s.sync.push(a, [command("make")]);
  await redis.stop();
  const page = await s.sync.pull(b, { since: encodeCursor(0), limit: 100 });
  assert.equal(page.cursor, pushed.cursor);
  assert.equal((await s.stats.forUser(account(s.userId))).cursor, pushed.cursor);
});
