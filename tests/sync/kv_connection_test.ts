/** openKvConnection: which connection the configuration opens, and a Redis away at start-up. */
import assert from "node:assert/strict";
import { openKvConnection } from "../../sync/kv_connection.ts";
import { SILENT_LOGGER } from "../../sync/logger.ts";
import { userKey } from "../../sync/redis_keys.ts";
import { abortTimeoutsArmed } from "../support/abort_timeouts.ts";
import { eventually } from "../support/eventually.ts";
import { startRedisCluster } from "../support/redis_cluster.ts";
import { testRedisClusterUrls, testRedisUrl } from "../support/services.ts";

Deno.test("openKvConnection: REDIS_CLUSTER_URLS opens the cluster client, which reaches every master", async () => {
  const kv = await openKvConnection({ REDIS_CLUSTER_URLS: testRedisClusterUrls() }, SILENT_LOGGER);
  try {
    assert.equal(kv.kind, "redis-cluster");
    if (kv.kind !== "redis-cluster") return;
    assert.equal(kv.client.masters.length, 3);
    // Keys of many users spread over the slots, so over every master; each reads back.
    const users = Array.from({ length: 30 }, () => crypto.randomUUID());
    await Promise.all(users.map((user) => kv.client.set(userKey(user, "t"), user, { EX: 60 })));
    assert.deepEqual(
      await Promise.all(users.map((user) => kv.client.get(userKey(user, "t")))),
      users,
    );
  } finally {
    await kv.close();
  }
});

Deno.test("openKvConnection: commands on one Redis and on a cluster arm no timer each", async () => {
  for (
    const config of [{ REDIS_URL: testRedisUrl() }, { REDIS_CLUSTER_URLS: testRedisClusterUrls() }]
  ) {
    const kv = await openKvConnection(config, SILENT_LOGGER);
    try {
      if (kv.kind !== "redis" && kv.kind !== "redis-cluster") throw new Error(kv.kind);
      const key = userKey(crypto.randomUUID(), "t");
      await eventually(
        () => kv.client.set(key, "1", { EX: 60 }).then(() => true, () => false),
        10_000,
        "the client to connect",
      );
      const armed = await abortTimeoutsArmed(() =>
        Promise.all([kv.client.get(key), kv.client.eval("return 1", { keys: [key] })])
      );
      assert.equal(armed, 0, kv.kind);
    } finally {
      await kv.close();
    }
  }
});

Deno.test("openKvConnection: a Redis Cluster away at start-up does not stop it; it connects once the cluster answers", async () => {
  await using cluster = await startRedisCluster();
  await Promise.all(cluster.nodes.map((node) => node.stop()));
  const started = performance.now();
  const kv = await openKvConnection({ REDIS_CLUSTER_URLS: cluster.url.split(",") }, SILENT_LOGGER);
  try {
    assert.ok(performance.now() - started < 5_000, "start-up waited at most a moment");
    assert.equal(kv.kind, "redis-cluster");
    if (kv.kind !== "redis-cluster") return;
    assert.equal(kv.client.isReady, false);
    await Promise.all(cluster.nodes.map((node) => node.start()));
    const key = userKey(crypto.randomUUID(), "t");
    await eventually(
      () => kv.client.set(key, "1").then(() => true, () => false),
      20_000,
      "the cluster client connected in the background",
    );
    assert.equal(await kv.client.get(key), "1");
  } finally {
    await kv.close();
  }
});
