/**
 * One contract, every adapter: what the WebSocket hub and the replication listener may
 * rely on whichever bus the configuration picks.
 */
import assert from "node:assert/strict";
import type { Bus } from "../../../sync/bus/bus.ts";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { MeteredBus } from "../../../sync/bus/metered_bus.ts";
import { RedisBus } from "../../../sync/bus/redis_bus.ts";
import { RedisClusterBus } from "../../../sync/bus/redis_cluster_bus.ts";
import { Metrics } from "../../../sync/metrics.ts";
import { UpstashBus } from "../../../sync/bus/upstash_bus.ts";
import { type ClusterNode, masterOf, startRedisCluster } from "../../support/redis_cluster.ts";
import { testRedisClusterUrls, testRedisUrl } from "../../support/services.ts";
import { startUpstashRestDouble } from "../../support/upstash_rest_double.ts";
import { eventually, sleep } from "../../support/eventually.ts";
import { channelName, inbox, subscribed } from "./inbox.ts";
import { sanitizedTestCase } from "./sanitized_test_case.ts";
import { startThrowawayRedis } from "./throwaway_redis.ts";

/** Bus instances of one adapter sharing one broker; disposing closes them all. */
interface World extends AsyncDisposable {
  /** A new bus instance: another app instance, for the distributed adapters. */
  open(): Promise<Bus>;
}

/** A world on a broker of its own, which the test crashes and starts again. */
interface RestartableWorld extends World {
  /** Kills the broker node that carries `channel` (the only one, or its cluster master). */
  crash(channel: string): Promise<void>;
  /** Starts what `crash` killed; resolves once it answers. */
  restart(): Promise<void>;
}

interface Adapter {
  name: string;
  /** Two instances reach each other (false for the in-process bus). */
  distributed: boolean;
  world(): Promise<World>;
  /** Absent where the test cannot run the broker itself. */
  restartable?: () => Promise<RestartableWorld>;
}

const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

const ADAPTERS: Adapter[] = [
  {
    name: "MemoryBus",
    distributed: false,
    world: () => Promise.resolve(worldOf(() => Promise.resolve(new MemoryBus()))),
  },
  {
    name: "RedisBus",
    distributed: true,
    world: () =>
      Promise.resolve(worldOf(() => RedisBus.connect(testRedisUrl(), { backoff: FAST_BACKOFF }))),
    restartable: async () => {
      const redis = await startThrowawayRedis();
      const world = worldOf(
        () => RedisBus.connect(redis.url, { backoff: FAST_BACKOFF }),
        redis.stop,
      );
      return { ...world, crash: () => redis.stop(), restart: () => redis.start() };
    },
  },
  {
    name: "RedisClusterBus (three masters, sharded pub/sub)",
    distributed: true,
    world: () =>
      Promise.resolve(
        worldOf(() => RedisClusterBus.connect(testRedisClusterUrls(), { backoff: FAST_BACKOFF })),
      ),
    restartable: async () => {
      const cluster = await startRedisCluster();
      const urls = cluster.url.split(",");
      const world = worldOf(
        () => RedisClusterBus.connect(urls, { backoff: FAST_BACKOFF }),
        cluster.stop,
      );
      let crashed: ClusterNode | null = null;
      return {
        ...world,
        crash: async (channel) => {
          crashed = await masterOf(cluster, channel);
          await crashed.stop();
        },
        restart: () => crashed!.start(),
      };
    },
  },
  {
    name: "MeteredBus over RedisBus",
    distributed: true,
    world: () =>
      Promise.resolve(worldOf(async () =>
        new MeteredBus(
          await RedisBus.connect(testRedisUrl(), { backoff: FAST_BACKOFF }),
          new Metrics(),
        )
      )),
  },
  {
    name: "UpstashBus (Upstash REST test double)",
    distributed: true,
    world: async () => {
      const double = await startUpstashRestDouble(testRedisUrl(), crypto.randomUUID());
      return worldOf(
        () => Promise.resolve(new UpstashBus(double.url, double.token, { backoff: FAST_BACKOFF })),
        () => double.close(),
      );
    },
  },
];

/** How long a message that should not arrive is given to arrive anyway. */
const SETTLE_MS = 150;

for (const adapter of ADAPTERS) {
  const test = (name: string, fn: (world: World) => Promise<void>) =>
    sanitizedTestCase(`${adapter.name}: ${name}`, async () => {
      await using world = await adapter.world();
      await fn(world);
    });

  test("delivers published messages to the subscriber in order", async (world) => {
    const bus = await world.open();
    const channel = channelName();
    const box = await subscribed(bus, channel);
    const sent = Array.from({ length: 25 }, (_, i) => JSON.stringify({ n: i, text: "é,ü:😀" }));
    for (const message of sent) await bus.publish(channel, message);
    assert.deepEqual(await box.until(sent.length), sent);
  });

  if (adapter.distributed) {
    test("delivers to subscribers on two other instances", async (world) => {
      const [publisher, first, second] = await Promise.all([
        world.open(),
        world.open(),
        world.open(),
      ]);
      const channel = channelName();
      const a = await subscribed(first, channel);
      const b = await subscribed(second, channel);
      await publisher.publish(channel, "one");
      await publisher.publish(channel, "two");
      assert.deepEqual(await a.until(2), ["one", "two"]);
      assert.deepEqual(await b.until(2), ["one", "two"]);
    });
  }

  test("stops delivery after unsubscribe", async (world) => {
    const bus = await world.open();
    const [channel, sentinel] = [channelName(), channelName()];
    const box = await subscribed(bus, channel);
    const marks = await subscribed(bus, sentinel);
    await bus.publish(channel, "before");
    await box.until(1);
    await bus.unsubscribe(channel);
    await bus.publish(channel, "after");
    await bus.publish(sentinel, "mark");
    await marks.until(1);
    await sleep(SETTLE_MS);
    assert.deepEqual(box.messages, ["before"]);
  });

  test("a second subscribe replaces the handler", async (world) => {
    const bus = await world.open();
    const channel = channelName();
    const first = await subscribed(bus, channel);
    const second = await subscribed(bus, channel);
    await bus.publish(channel, "hello");
    assert.deepEqual(await second.until(1), ["hello"]);
    await sleep(SETTLE_MS);
    assert.deepEqual(first.messages, []);
    assert.deepEqual(second.messages, ["hello"]);
  });

  test("subscribes again after unsubscribe", async (world) => {
    const bus = await world.open();
    const channel = channelName();
    await subscribed(bus, channel);
    await bus.unsubscribe(channel);
    const box = await subscribed(bus, channel);
    await bus.publish(channel, "back");
    assert.deepEqual(await box.until(1), ["back"]);
  });

  test("does not deliver messages of other channels", async (world) => {
    const bus = await world.open();
    const [mine, other] = [channelName(), channelName()];
    const box = await subscribed(bus, mine);
    await bus.publish(other, "not for me");
    await bus.publish(mine, "for me");
    await box.until(1);
    await sleep(SETTLE_MS);
    assert.deepEqual(box.messages, ["for me"]);
  });

  test("a message published while nobody subscribes is dropped, not kept for a later subscriber", async (world) => {
    const bus = await world.open();
    const channel = channelName();
    assert.equal(await bus.publish(channel, "into the void"), undefined);
    const box = await subscribed(bus, channel);
    await bus.publish(channel, "heard");
    assert.deepEqual(await box.until(1), ["heard"]);
    await sleep(SETTLE_MS);
    assert.deepEqual(box.messages, ["heard"]);
  });

  test("ping answers true while open and false once closed", async (world) => {
    const bus = await world.open();
    assert.equal(await bus.ping(), true);
    await bus.close();
    assert.equal(await bus.ping(), false);
  });

  const restartable = adapter.restartable;
  if (restartable) {
    sanitizedTestCase(
      `${adapter.name}: after the broker node restarts, onResumed runs once the channel is active again and delivery resumes without a new subscribe`,
      async () => {
        await using world = await restartable();
        const bus = await world.open();
        const channel = channelName();
        const box = inbox();
        let resumed = 0;
        await bus.subscribe(channel, box.handler, () => resumed++);
        await bus.publish(channel, "before");
        await box.until(1);
        assert.equal(resumed, 0, "not on the first connect");

        await world.crash(channel);
        await assert.rejects(bus.publish(channel, "lost"), /failed/);
        assert.equal(await bus.ping(), false);
        await world.restart();
        await eventually(() => resumed > 0, 10_000, "onResumed after the restart");
        // Active by the time onResumed ran: the first publish that reaches the broker arrives.
        await eventually(
          () => bus.publish(channel, "after").then(() => true, () => false),
          10_000,
          "a publish after the restart",
        );
        await box.until(2);
        assert.deepEqual(box.messages, ["before", "after"]);
        await eventually(() => bus.ping(), 10_000, "ping after the restart");
      },
    );
  }

  test("close stops delivery to its handlers, refuses publishes, releases everything and is idempotent", async (world) => {
    // The test sanitizers (ops, resources) fail this test if anything is left running.
    const bus = await world.open();
    // Where the subscribed channels are published to once `bus` is closed: another instance
    // of a distributed adapter, else nothing can reach them.
    const elsewhere = adapter.distributed ? await world.open() : null;
    const channels = [channelName(), channelName()];
    const boxes = await Promise.all(channels.map((c) => subscribed(bus, c)));
    for (const channel of channels) await (elsewhere ?? bus).publish(channel, "before");
    await Promise.all(boxes.map((box) => box.until(1)));
    await bus.close();
    await bus.close();
    await assert.rejects(bus.publish(channels[0], "after"), /closed/);
    if (elsewhere) {
      for (const channel of channels) await elsewhere.publish(channel, "after");
      await sleep(SETTLE_MS);
    }
    assert.deepEqual(boxes.map((box) => box.messages), [["before"], ["before"]]);
  });
}

function worldOf(open: () => Promise<Bus>, teardown?: () => Promise<void>): World {
  const buses: Bus[] = [];
  return {
    async open() {
      const bus = await open();
      buses.push(bus);
      return bus;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(buses.map((bus) => bus.close()));
      await teardown?.();
    },
  };
}
