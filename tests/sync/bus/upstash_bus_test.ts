/** UpstashBus behaviour beyond the shared contract, against the Upstash REST test double. */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { UpstashBus, type UpstashBusOptions } from "../../../sync/bus/upstash_bus.ts";
import { testRedisUrl } from "../../support/services.ts";
import {
  startUpstashRestDouble,
  type UpstashRestDouble,
} from "../../support/upstash_rest_double.ts";
import { eventually, sleep } from "../../support/eventually.ts";
import { assertHandlerFailureIsolated, channelName, inbox, subscribed } from "./inbox.ts";
import { sanitizedTestCase } from "./sanitized_test_case.ts";

const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

sanitizedTestCase(
  "UpstashBus (Upstash REST test double): after the event stream ends it subscribes again by itself",
  async () => {
    await using double = await startDouble();
    const warnings: string[] = [];
    await using bus = open(double, {
      backoff: FAST_BACKOFF,
      logger: { warn: (message) => warnings.push(message) },
    });
    const channel = channelName();
    const box = await subscribed(bus, channel);
    await bus.publish(channel, "before");
    await box.until(1);

    double.dropStreams();
    await eventually(
      async () => {
        await bus.publish(channel, "probe");
        return box.messages.includes("probe");
      },
      5_000,
      "delivery on the reopened stream",
    );
    assert.ok(warnings.includes("Upstash event stream ended"), "the drop reached the logger");
  },
);

sanitizedTestCase(
  "UpstashBus (Upstash REST test double): a reopened stream reports onResumed, the first one does not",
  async () => {
    await using double = await startDouble();
    await using bus = open(double, { backoff: FAST_BACKOFF });
    const channel = channelName();
    let resumed = 0;
    await bus.subscribe(channel, () => {}, () => resumed++);
    assert.equal(resumed, 0);
    double.dropStreams();
    await eventually(() => Promise.resolve(resumed === 1), 5_000, "onResumed after the drop");
  },
);

sanitizedTestCase(
  "UpstashBus (Upstash REST test double): a stream that stops delivering without ending is noticed and opened again",
  async () => {
    await using double = await startDouble();
    const warnings: string[] = [];
    await using bus = open(double, {
      backoff: FAST_BACKOFF,
      readTimeoutMs: 400,
      logger: { warn: (message) => warnings.push(message) },
    });
    const channel = channelName();
    let resumed = 0;
    const box = inbox();
    await bus.subscribe(channel, box.handler, () => resumed++);
    await bus.publish(channel, "before");
    await box.until(1);

    // Half-open: the connection stays up, nothing more comes through it.
    double.silenceStreams();
    await bus.publish(channel, "lost");
    await eventually(() => resumed === 1, 5_000, "the silent stream replaced");
    await bus.publish(channel, "after");
    await box.until(2);
    assert.deepEqual(box.messages, ["before", "after"]);
    assert.ok(warnings.includes("Upstash event stream failed"), "the silence reached the logger");
  },
);

sanitizedTestCase(
  "UpstashBus (Upstash REST test double): an idle healthy stream is kept, and its keepalive probes never reach the handler",
  async () => {
    await using double = await startDouble();
    await using bus = open(double, { backoff: FAST_BACKOFF, readTimeoutMs: 200 });
    const channel = channelName();
    let resumed = 0;
    const box = inbox();
    await bus.subscribe(channel, box.handler, () => resumed++);
    // Five read timeouts without a message of its own.
    await sleep(1_000);
    assert.equal(resumed, 0, "never reopened");
    assert.deepEqual(box.messages, []);
    await bus.publish(channel, "still here");
    assert.deepEqual(await box.until(1), ["still here"]);
  },
);

sanitizedTestCase(
  "UpstashBus (Upstash REST test double): publish and ping fail when the service is unreachable",
  async () => {
    const double = await startDouble();
    await using bus = open(double, { retries: 0 });
    await double.close();
    await assert.rejects(bus.publish(channelName(), "x"), /Upstash publish to "test:[^"]+" failed/);
    assert.equal(await bus.ping(), false);
    await assert.rejects(bus.subscribe(channelName(), () => {}), /Upstash subscribe to .* failed/);
  },
);

sanitizedTestCase(
  "UpstashBus (Upstash REST test double): a wrong token is refused on publish and subscribe",
  async () => {
    await using double = await startDouble();
    await using bus = open({ url: double.url, token: "wrong" }, { retries: 0 });
    await assert.rejects(bus.publish(channelName(), "x"), /Unauthorized/);
    await assert.rejects(bus.subscribe(channelName(), () => {}), /answered 401/);
    assert.equal(await bus.ping(), false);
  },
);

sanitizedTestCase(
  "UpstashBus (Upstash REST test double): a message with a line break is refused",
  async () => {
    await using double = await startDouble();
    await using bus = open(double, {});
    await assert.rejects(bus.publish(channelName(), "two\nlines"), /must be one line/);
  },
);

sanitizedTestCase(
  "UpstashBus (Upstash REST test double): a handler that throws is reported and delivery goes on",
  async () => {
    await using double = await startDouble();
    const warnings: string[] = [];
    await using bus = open(double, { logger: { warn: (message) => warnings.push(message) } });
    await assertHandlerFailureIsolated(bus, warnings);
  },
);

sanitizedTestCase(
  "Upstash REST test double: answers @upstash/redis like the service (base64 results, pipeline, errors)",
  async () => {
    await using double = await startDouble();
    const redis = new Redis({ url: double.url, token: double.token, enableTelemetry: false });
    const key = channelName();
    try {
      assert.equal(await redis.set(key, "ünïcode", { ex: 60 }), "OK");
      assert.equal(await redis.get(key), "ünïcode");
      const pipeline = redis.pipeline();
      pipeline.incr(`${key}:n`);
      pipeline.expire(`${key}:n`, 60);
      pipeline.get(key);
      assert.deepEqual(await pipeline.exec(), [1, 1, "ünïcode"]);
      await assert.rejects(redis.hget(key, "field"), /WRONGTYPE/);
    } finally {
      await redis.del(key, `${key}:n`);
    }
  },
);

function startDouble(): Promise<UpstashRestDouble> {
  return startUpstashRestDouble(testRedisUrl(), crypto.randomUUID());
}

function open(
  service: { url: string; token: string },
  options: UpstashBusOptions,
): UpstashBus & AsyncDisposable {
  const bus = new UpstashBus(service.url, service.token, options);
  return Object.assign(bus, { [Symbol.asyncDispose]: () => bus.close() });
}
