/** RedisBus behaviour beyond the shared contract: losing Redis and getting it back. */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RedisBus, type RedisBusOptions } from "../../../sync/bus/redis_bus.ts";
import { testRedisUrl } from "../../support/services.ts";
import { abortTimeoutsArmed } from "../../support/abort_timeouts.ts";
import { eventually } from "../../support/eventually.ts";
import {
  assertHandlerFailureIsolated,
  channelName,
  type Inbox,
  inbox,
  subscribed,
} from "./inbox.ts";
import { sanitizedTestCase } from "./sanitized_test_case.ts";
import { startThrowawayRedis } from "./throwaway_redis.ts";

const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

sanitizedTestCase(
  "RedisBus: after its connections are killed it reconnects and its subscriptions deliver again without a new subscribe",
  async () => {
    const clientName = `devpocket-bus-test-${crypto.randomUUID()}`;
    const warnings: string[] = [];
    await using bus = await open(testRedisUrl(), {
      clientName,
      backoff: FAST_BACKOFF,
      logger: { warn: (message) => warnings.push(message) },
    });
    await using admin = await adminClient(testRedisUrl());
    const channel = channelName();
    const box = await subscribed(bus, channel);
    await bus.publish(channel, "before");
    await box.until(1);

    // Only this bus's two connections: the test Redis is shared with parallel runs, so
    // `CLIENT KILL TYPE pubsub` would hit theirs too.
    const killed = await admin.connectionIds(clientName);
    assert.equal(killed.length, 2);
    for (const id of killed) await admin.client.sendCommand(["CLIENT", "KILL", "ID", String(id)]);

    // Until the subscriber is back, a publish can reject (publisher reconnecting) or reach
    // nobody (subscriber reconnecting); the subscription must come back by itself.
    await eventually(
      async () => {
        await bus.publish(channel, "probe").catch(() => {});
        return box.messages.includes("probe");
      },
      5_000,
      "delivery on the re-subscribed connection",
    );
    const current = await admin.connectionIds(clientName);
    assert.equal(current.length, 2);
    assert.ok(current.every((id) => !killed.includes(id)), "both connections are new");
    await bus.publish(channel, "after");
    await eventually(() => box.messages.at(-1) === "after", 5_000, "the message after reconnect");
    assert.ok(warnings.includes("Redis bus connection error"), "the drop reached the logger");
  },
);

sanitizedTestCase(
  "RedisBus: publish rejects while Redis is down; once Redis is back, publishing and the old subscriptions work again",
  async () => {
    await using redis = await startThrowawayRedis();
    await using bus = await open(redis.url, { backoff: FAST_BACKOFF });
    const channel = channelName();
    const box = await subscribed(bus, channel);
    await bus.publish(channel, "one");
    await box.until(1);

    await redis.stop();
    await assert.rejects(bus.publish(channel, "lost"), /Redis publish to "test:[^"]+" failed/);
    assert.equal(await bus.ping(), false);
    await assert.rejects(bus.subscribe(channelName(), () => {}), /subscribe/);

    await redis.start();
    await eventually(() => bus.ping(), 5_000, "ping after Redis restarted");
    await eventually(
      async () => {
        await bus.publish(channel, "probe").catch(() => {});
        return box.messages.includes("probe");
      },
      5_000,
      "delivery after Redis restarted",
    );
    assert.equal(box.messages.includes("lost"), false);
  },
);

sanitizedTestCase(
  "RedisBus: once Redis is back, onResumed runs for each channel after it is subscribed again",
  async () => {
    await using redis = await startThrowawayRedis();
    await using bus = await open(redis.url, { backoff: FAST_BACKOFF });
    const [kept, dropped, plain] = [channelName(), channelName(), channelName()];
    const resumed: string[] = [];
    const boxes = new Map<string, Inbox>();
    for (const channel of [kept, dropped]) {
      const box = inbox();
      boxes.set(channel, box);
      await bus.subscribe(channel, box.handler, () => resumed.push(channel));
    }
    await bus.subscribe(plain, () => {});
    await bus.unsubscribe(dropped);
    assert.deepEqual(resumed, [], "not on the first connect");

    await redis.stop();
    await assert.rejects(bus.publish(kept, "lost"), /failed/);
    await redis.start();
    await eventually(() => resumed.length > 0, 5_000, "onResumed after Redis restarted");
    // Active by the time it ran: a message published now arrives, with no retry.
    await using admin = await adminClient(redis.url);
    assert.equal(await admin.client.publish(kept, "after"), 1, "one subscriber on the channel");
    await boxes.get(kept)!.until(1);
    assert.deepEqual(boxes.get(kept)!.messages, ["after"]);
    assert.deepEqual(resumed, [kept], "once, and only for channels still subscribed");
  },
);

sanitizedTestCase(
  "RedisBus: connect rejects when Redis does not answer in time, leaving nothing running",
  async () => {
    await using redis = await startThrowawayRedis();
    await redis.stop();
    await assert.rejects(
      RedisBus.connect(redis.url, { connectTimeoutMs: 300, backoff: FAST_BACKOFF }),
      /Redis at redis:\/\/127\.0\.0\.1:\d+ did not answer within 300 ms/,
    );
  },
);

sanitizedTestCase("RedisBus: a handler that throws is reported and delivery goes on", async () => {
  const warnings: string[] = [];
  await using bus = await open(testRedisUrl(), {
    logger: { warn: (message) => warnings.push(message) },
  });
  await assertHandlerFailureIsolated(bus, warnings);
});

sanitizedTestCase("RedisBus: close disconnects both connections", async () => {
  // Deno's sanitizers do not see node:net sockets: ask Redis which connections remain.
  const clientName = `devpocket-bus-test-${crypto.randomUUID()}`;
  await using admin = await adminClient(testRedisUrl());
  const bus = await RedisBus.connect(testRedisUrl(), { clientName });
  await bus.subscribe(channelName(), () => {});
  assert.equal((await admin.connectionIds(clientName)).length, 2);
  await bus.close();
  await eventually(
    async () => (await admin.connectionIds(clientName)).length === 0,
    2_000,
    "Redis to see both connections closed",
  );
});

sanitizedTestCase("RedisBus: a publish arms no timer", async () => {
  await using bus = await open(testRedisUrl(), {});
  assert.equal(await abortTimeoutsArmed(() => bus.publish(channelName(), "x")), 0);
});

sanitizedTestCase("RedisBus: publish, subscribe and ping after close are refused", async () => {
  const bus = await RedisBus.connect(testRedisUrl());
  await bus.close();
  await assert.rejects(bus.publish(channelName(), "x"), /RedisBus is closed/);
  await assert.rejects(bus.subscribe(channelName(), () => {}), /RedisBus is closed/);
  assert.equal(await bus.ping(), false);
});

async function open(url: string, options: RedisBusOptions): Promise<RedisBus & AsyncDisposable> {
  const bus = await RedisBus.connect(url, options);
  return Object.assign(bus, { [Symbol.asyncDispose]: () => bus.close() });
}

async function adminClient(url: string) {
  const client = createClient({ url });
  client.on("error", () => {});
  await client.connect();
  return {
    client,
    /** Ids of the connections named `name`. */
    async connectionIds(name: string): Promise<number[]> {
      return (await client.clientList()).filter((c) => c.name === name).map((c) => c.id);
    },
    [Symbol.asyncDispose]: () => Promise.resolve(client.destroy()),
  };
}
