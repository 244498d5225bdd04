import assert from "node:assert/strict";
import { openBus } from "../../../sync/bus/open_bus.ts";
import { testRedisClusterUrls, testRedisUrl } from "../../support/services.ts";
import { startUpstashRestDouble } from "../../support/upstash_rest_double.ts";
import { sanitizedTestCase } from "./sanitized_test_case.ts";

sanitizedTestCase("openBus() picks the in-process bus when no Redis is configured", async () => {
  const bus = await openBus({});
  assert.equal(bus.kind, "memory");
  await bus.close();
});

sanitizedTestCase("openBus() picks Redis over TCP for REDIS_URL", async () => {
  const bus = await openBus({ REDIS_URL: testRedisUrl() });
  assert.equal(bus.kind, "redis");
  assert.equal(await bus.ping(), true);
  await bus.close();
});

sanitizedTestCase("openBus() picks the Redis Cluster bus for REDIS_CLUSTER_URLS", async () => {
  const bus = await openBus({ REDIS_CLUSTER_URLS: testRedisClusterUrls() });
  assert.equal(bus.kind, "redis-cluster");
  assert.equal(await bus.ping(), true);
  await bus.close();
});

sanitizedTestCase(
  "openBus() picks Upstash for UPSTASH_REDIS_REST_URL (Upstash REST test double)",
  async () => {
    await using double = await startUpstashRestDouble(testRedisUrl(), crypto.randomUUID());
    const bus = await openBus({
      UPSTASH_REDIS_REST_URL: double.url,
      UPSTASH_REDIS_REST_TOKEN: double.token,
    });
    assert.equal(bus.kind, "upstash");
    assert.equal(await bus.ping(), true);
    await bus.close();
  },
);

sanitizedTestCase(
  "openBus() refuses both Redis kinds at once, and Upstash without a token",
  async () => {
    await assert.rejects(
      openBus({ REDIS_URL: "redis://x", UPSTASH_REDIS_REST_URL: "https://x" }),
      /Set REDIS_URL or UPSTASH_REDIS_REST_URL, not both/,
    );
    await assert.rejects(
      openBus({ REDIS_CLUSTER_URLS: ["redis://x:1"], REDIS_URL: "redis://x" }),
      /Set one of REDIS_URL, REDIS_CLUSTER_URLS or UPSTASH_REDIS_REST_URL/,
    );
    await assert.rejects(
      openBus({ UPSTASH_REDIS_REST_URL: "https://x" }),
      /UPSTASH_REDIS_REST_TOKEN must be set with UPSTASH_REDIS_REST_URL/,
    );
  },
);
