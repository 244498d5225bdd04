import assert from "node:assert/strict";
import { MeteredBus } from "../../../sync/bus/metered_bus.ts";
import { RedisBus } from "../../../sync/bus/redis_bus.ts";
import { Metrics } from "../../../sync/metrics.ts";
import { testRedisUrl } from "../../support/services.ts";
import { channelName, subscribed } from "./inbox.ts";
import { sanitizedTestCase } from "./sanitized_test_case.ts";

sanitizedTestCase(
  "MeteredBus counts publishes, refused publishes and delivered messages of a real Redis bus",
  async () => {
    const metrics = new Metrics();
    const inner = await RedisBus.connect(testRedisUrl());
    const bus = new MeteredBus(inner, metrics);
    const count = async (name: string) =>
      (await metrics.registry.getSingleMetric(name)!.get()).values.reduce((n, v) => n + v.value, 0);
    const channel = channelName();
    const box = await subscribed(bus, channel);
    await bus.publish(channel, "one");
    await bus.publish(channel, "two");
    assert.deepEqual(await box.until(2), ["one", "two"]);
    assert.equal(bus.kind, "redis");
    assert.equal(await bus.ping(), true);
    await bus.close();
    // A closed bus refuses the publish: the caller sees the same error, and it is counted.
    await assert.rejects(bus.publish(channel, "three"));
    assert.deepEqual(
      [
        await count("devpocket_bus_publishes_total"),
        await count("devpocket_bus_publish_errors_total"),
        await count("devpocket_bus_messages_received_total"),
      ],
      [3, 1, 2],
    );
  },
);
