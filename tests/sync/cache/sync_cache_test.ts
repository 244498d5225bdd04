/**
 * The head and stats cache in the service: the embedded default's memory cache, and the
 * Redis cache on the test Redis and on the test Redis Cluster, with Postgres.
 */
import assert from "node:assert/strict";
import { SqlStore } from "../../../db/sql_store.ts";
import { withHeadTracking } from "../../../sync/cache/head_tracking_bus.ts";
import { RedisSyncCache } from "../../../sync/cache/redis_sync_cache.ts";
import { RememberedAdvances } from "../../../sync/cache/remembered_advances.ts";
import {
  HEAD_TTL_SECONDS,
  MemorySyncCache,
  type SyncCache,
} from "../../../sync/cache/sync_cache.ts";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { inProcessNotifier, WAL_NOTIFIER } from "../../../sync/change_notifier.ts";
import { decodeCursor, encodeCursor } from "../../../sync/cursor.ts";
import { userKey } from "../../../sync/redis_keys.ts";
import { buildServices } from "../../../sync/services.ts";
import type { PullResult } from "../../../sync/api_schemas.ts";
import { command } from "../../support/changes.ts";
import { type DriverKind, openTestDb } from "../../support/drivers.ts";
import { eventually } from "../../support/eventually.ts";
import { type KvConfig, openTestKv, REDIS_BACKENDS } from "../../support/redis_backends.ts";
import { countingCalls } from "../../support/spies.ts";

const account = (userId: string) => ({
  userId,
  tier: "pro" as const,
  tierExpiresAt: null,
  teamId: null,
  teamRole: "member" as const,
});

/**
 * Services over a store that counts its reads, with the cache wired as service.ts does:
 * in memory on the embedded database (events published in-process after commit), on
 * `redis` with Postgres (events from the WAL listener, which these tests do not run).
 */
async function cachedServices(kind: DriverKind, redis?: KvConfig) {
  const db = await openTestDb(kind);
  const kv = redis ? await openTestKv(redis) : null;
  const cache: SyncCache = kv
    ? new RememberedAdvances(new RedisSyncCache(kv.kv.client))
    : new MemorySyncCache();
  const store = new SqlStore(db.driver);
  const { proxy: counted, calls: reads } = countingCalls<SqlStore, "pullEncoded" | "stats">(
    store,
    ["pullEncoded", "stats"],
  );
  const bus = withHeadTracking(new MemoryBus(), cache, () => {});
  // On Postgres no event is published here: the writers alone advance the cache, as while
  // the replication listener is slow or down.
  const notifier = kind === "pglite" ? inProcessNotifier(bus, () => {}) : WAL_NOTIFIER;
  const services = buildServices(counted, notifier, { cache });
  const userId = `cache-${crypto.randomUUID()}`;
  await store.saveAccount({ account: account(userId), issuedAt: 1 });
  const register = async (name: string) => {
    const { device } = await services.devices.register(account(userId), { name, platform: "ios" });
    return { deviceId: device.id, account: account(userId) };
  };
  return {
    ...services,
    /** A pull as the client reads it (the service answers JSON text). */
    pull: async (...args: Parameters<typeof services.sync.pull>): Promise<PullResult> =>
      JSON.parse(await services.sync.pull(...args)),
    reads,
    cache,
    kv,
    userId,
    register,
    async [Symbol.asyncDispose]() {
      await bus.close();
      await kv?.[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}

const STORES: [string, DriverKind, () => KvConfig | undefined][] = [
  ["[pglite] sync cache (memory)", "pglite", () => undefined],
  ...Object.entries(REDIS_BACKENDS).map(([name, backend]) =>
    [`[postgres] sync cache (${name})`, "postgres", backend.shared] as [
      string,
      DriverKind,
      () => KvConfig,
    ]
  ),
];

for (const [where, kind, redis] of STORES) {
  Deno.test(`${where}: a pull at the head reads nothing; a commit moves the head and the next pull reads it`, async () => {
    await using s = await cachedServices(kind, redis());
    const [a, b] = [await s.register("a"), await s.register("b")];
    const first = await s.sync.push(a, [command("make")]);
    const full = await s.pull(b, { limit: 100 });
    assert.equal(full.cursor, first.cursor);
    const reads = s.reads.pullEncoded;

    const atHead = await s.pull(b, { since: full.cursor, limit: 100 });
    assert.deepEqual(atHead, { changes: [], cursor: full.cursor, has_more: false });
    assert.equal(s.reads.pullEncoded, reads, "answered from the cache");

    const second = await s.sync.push(a, [command("make test")]);
    const next = await s.pull(b, { since: full.cursor, limit: 100 });
    assert.equal(s.reads.pullEncoded, reads + 1);
    assert.deepEqual(next.changes.map((c) => c.data?.command), ["make test"]);
    assert.equal(next.cursor, second.cursor);
    // Still validated on the fast path.
    await assert.rejects(
      s.pull(b, { since: next.cursor, collections: "nope", limit: 100 }),
      /Unknown collection/,
    );
    // On Redis, under the user's hash tag.
    if (s.kv) assert.ok(await s.kv.kv.client.zScore(userKey(s.userId, "head"), "head"));
  });

  Deno.test(`${where}: the device that pushed pulls its own change at once, though it hears of it from no event`, async () => {
    await using s = await cachedServices(kind, redis());
    const a = await s.register("a");
    await s.sync.push(a, [command("ls")]);
    const before = await s.pull(a, { limit: 100 });
    assert.equal(await s.cache.head(s.userId), decodeCursor(before.cursor));
    const pushed = await s.sync.push(a, [command("pwd")]);
    const after = await s.pull(a, { since: before.cursor, limit: 100 });
    assert.deepEqual(after.changes.map((c) => c.data?.command), ["pwd"]);
    assert.equal(after.cursor, pushed.cursor);
  });

  Deno.test(`${where}: a recorded head is never lowered, so it is never ahead of what committed`, async () => {
    await using s = await cachedServices(kind, redis());
    const b = await s.register("b");
    await s.sync.push(b, [command("ls"), command("pwd"), command("id")]);
    await s.cache.advance(s.userId, 10);
    await s.cache.advance(s.userId, 4);
    assert.equal(await s.cache.head(s.userId), 10);
    if (s.kv) {
      // Each advance renews the head's expiry, the one that did not raise it too.
      const ttl = await s.kv.kv.client.ttl(userKey(s.userId, "head"));
      assert.ok(ttl > 0 && ttl <= HEAD_TTL_SECONDS, `ttl ${ttl}`);
    }
    // A device behind the cached head is answered from Postgres, which has less.
    const page = await s.pull(b, { since: encodeCursor(3), limit: 100 });
    assert.equal(s.reads.pullEncoded, 1);
    assert.deepEqual(page.changes, []);
  });

  Deno.test(`${where}: stats are served at the same head and recomputed once a write moves it`, async () => {
    await using s = await cachedServices(kind, redis());
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
  });
}

for (const [name, backend] of Object.entries(REDIS_BACKENDS)) {
  Deno.test(`[postgres] sync cache (${name}): with the user's server down, pulls and stats are answered from Postgres; once it is back, from the cache again`, async () => {
    await using redis = await backend.own();
    await using s = await cachedServices("postgres", redis.config);
    const [a, b] = [await s.register("a"), await s.register("b")];
    const pushed = await s.sync.push(a, [command("make")]);
    await redis.crash(userKey(s.userId, "head"));
    const page = await s.pull(b, { since: encodeCursor(0), limit: 100 });
    assert.equal(page.cursor, pushed.cursor);
    assert.equal((await s.stats.forUser(account(s.userId))).cursor, pushed.cursor);
    const atHead = await s.pull(b, { since: pushed.cursor, limit: 100 });
    assert.deepEqual(atHead.changes, []);

    await redis.restart();
    await eventually(
      () => s.kv!.get(userKey(s.userId, "probe")).then(() => true, () => false),
      15_000,
      "Redis back",
    );
    // The restarted server lost the head: one pull reads it from Postgres and records it.
    await s.pull(b, { since: pushed.cursor, limit: 100 });
    const reads = s.reads.pullEncoded;
    const cached = await s.pull(b, { since: pushed.cursor, limit: 100 });
    assert.deepEqual(cached, { changes: [], cursor: pushed.cursor, has_more: false });
    assert.equal(s.reads.pullEncoded, reads, "answered from the cache again");
  });
}
