/** RedisClusterBus beyond the shared contract, on the test's three-master cluster. */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RedisClusterBus } from "../../../sync/bus/redis_cluster_bus.ts";
import { freePort } from "../../support/cluster.ts";
import { testRedisClusterUrls } from "../../support/services.ts";
import { assertHandlerFailureIsolated, channelName, subscribed } from "./inbox.ts";
import { sanitizedTestCase } from "./sanitized_test_case.ts";

sanitizedTestCase(
  "RedisClusterBus: channels hashed to every master are each delivered, in order",
  async () => {
    const bus = await RedisClusterBus.connect(testRedisClusterUrls());
    try {
      const channels = Array.from({ length: 30 }, channelName);
      const boxes = await Promise.all(channels.map((channel) => subscribed(bus, channel)));
      await Promise.all(channels.map(async (channel) => {
        await bus.publish(channel, `${channel} 1`);
        await bus.publish(channel, `${channel} 2`);
      }));
      for (const [i, box] of boxes.entries()) {
        assert.deepEqual(await box.until(2), [`${channels[i]} 1`, `${channels[i]} 2`]);
      }
      // Thirty random channels land on all three masters (a miss has odds of 1 in 60,000),
      // each subscribed on its own master only.
      const perMaster = await Promise.all(
        testRedisClusterUrls().map(async (url) => {
          const node = createClient({ url });
          node.on("error", () => {});
          await node.connect();
          try {
            const active = await node.sendCommand(["PUBSUB", "SHARDCHANNELS"]) as string[];
            return active.filter((channel) => channels.includes(channel)).length;
          } finally {
            node.destroy();
          }
        }),
      );
      assert.equal(perMaster.filter((n) => n > 0).length, 3, `per master: ${perMaster}`);
      assert.equal(perMaster.reduce((a, b) => a + b), channels.length);
    } finally {
      await bus.close();
    }
  },
);

sanitizedTestCase(
  "RedisClusterBus: connect rejects naming the seeds (passwords masked) when none answers, leaving nothing running",
  async () => {
    const urls = [`redis://127.0.0.1:${freePort()}`, `redis://:pw@127.0.0.1:${freePort()}`];
    await assert.rejects(
      RedisClusterBus.connect(urls, { connectTimeoutMs: 300, backoff: { initialMs: 20 } }),
      (error: unknown) => {
        assert.match(
          String(error),
          /Redis Cluster at redis:\/\/127\.0\.0\.1:\d+,redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ is unavailable/,
        );
        assert.ok(!String(error).includes("pw"), "no password in the message");
        return true;
      },
    );
  },
);

sanitizedTestCase(
  "RedisClusterBus: a handler that throws is reported and delivery goes on",
  async () => {
    const warnings: string[] = [];
    const bus = await RedisClusterBus.connect(testRedisClusterUrls(), {
      logger: { warn: (message) => warnings.push(message) },
    });
    try {
      await assertHandlerFailureIsolated(bus, warnings);
    } finally {
      await bus.close();
    }
  },
);

sanitizedTestCase(
  "RedisClusterBus: publish, subscribe and ping after close are refused",
  async () => {
    const bus = await RedisClusterBus.connect(testRedisClusterUrls());
    await bus.close();
    await assert.rejects(bus.publish(channelName(), "x"), /RedisClusterBus is closed/);
    await assert.rejects(bus.subscribe(channelName(), () => {}), /RedisClusterBus is closed/);
    assert.equal(await bus.ping(), false);
  },
);
