/**
 * The real-time pipeline on a Redis Cluster (three masters, sharded pub/sub): two
 * instances on one real Postgres, over HTTP and WebSocket, as deployed with
 * REDIS_CLUSTER_URLS.
 */
import assert from "node:assert/strict";
import { userChannel } from "../../sync/events.ts";
import { eventually } from "../support/eventually.ts";
import { masterOf, masterPortOf, startRedisCluster } from "../support/redis_cluster.ts";
import { testRedisClusterUrls } from "../support/services.ts";
import { openCluster } from "./cluster.ts";
import { push, randomUser, register, seq, watch } from "./devices.ts";

Deno.test("e2e (Redis Cluster): pushes through one instance reach the users' sockets on the other, for users on every master", async () => {
  const urls = testRedisClusterUrls();
  await using c = await openCluster({ redisClusterUrls: urls.join(",") });
  // One user per master: each user's channel lives on another master.
  const byMaster = new Map<number, string>();
  const ports = urls.map((url) => Number(new URL(url).port));
  for (let i = 0; i < 100 && byMaster.size < ports.length; i++) {
    const user = randomUser();
    byMaster.set(await masterPortOf(ports, userChannel(user)), user);
  }
  assert.equal(byMaster.size, ports.length, "users whose channels cover every master");
  const users = await Promise.all([...byMaster.values()].map(async (user) => {
    const phone = await register(c.b, user, "phone");
    const laptop = await register(c.a, user, "laptop");
    return { phone, onA: await watch(c.a, laptop) };
  }));
  try {
    for (const { phone, onA } of users) {
      const pushed = await push(c.b, phone, { commands: 2 });
      const hint = await onA.waitFor(pushed.cursor);
      assert.equal(hint.cursor, pushed.cursor);
      assert.equal(hint.origin, phone.id);
    }
  } finally {
    await Promise.all(users.map(({ onA }) => onA[Symbol.asyncDispose]()));
  }
});

Deno.test("e2e (Redis Cluster): when the master of a user's channel restarts, the socket learns of every push made meanwhile", async () => {
  await using redis = await startRedisCluster();
  await using c = await openCluster({ redisClusterUrls: redis.url, b: "api" });
  const user = randomUser();
  const phone = await register(c.b, user, "phone");
  const laptop = await register(c.a, user, "laptop");
  await using onA = await watch(c.a, laptop);
  const before = await push(c.b, phone);
  await onA.waitFor(before.cursor);

  const master = await masterOf(redis, userChannel(user));
  await master.stop();
  // Committed while the channel's master is down: the listener cannot publish it and A's
  // subscription to the channel is gone.
  const during = await push(c.b, phone, { commands: 3 });
  await eventually(async () => (await c.a.request("GET", "/ready")).status === 503, 5_000);
  await master.start();

  // Either the listener's retried publish or A's catch-up after resubscribing tells it.
  const hint = await onA.waitFor(during.cursor, 15_000);
  assert.ok(seq(hint.cursor) >= seq(during.cursor));
  await eventually(async () => (await c.a.request("GET", "/ready")).status === 200, 15_000);
  // And the pipeline goes on as before.
  const after = await push(c.b, phone);
  assert.equal((await onA.waitFor(after.cursor)).cursor, after.cursor);
});
