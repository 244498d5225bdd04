import assert from "node:assert/strict";
import { createCluster } from "redis";
import { deviceKey, userKey } from "../../sync/redis_keys.ts";
import { testRedisClusterUrls } from "../support/services.ts";

Deno.test("userKey() and deviceKey() tag every key of a user with one hash tag", () => {
  assert.equal(userKey("42", "rate", "minute"), "{user:42}:rate:minute");
  assert.equal(deviceKey("42", "d1", "rate"), "{user:42}:device:d1:rate");
  // Delimiters in ids are escaped: no early `}` ends the tag, no `:` fakes a part.
  assert.equal(userKey("a}b", "x"), "{user:a%7Db}:x");
  assert.equal(userKey("a:b", "x:y"), "{user:a%3Ab}:x%3Ay");
  assert.notEqual(userKey("a", "b:c"), userKey("a", "b", "c"));
  assert.notEqual(userKey("a}", "x"), userKey("a", "}x"));
  assert.equal(userKey("%7D"), "{user:%257D}");
});

Deno.test("a user's keys share one slot of the real cluster, so one script may touch them all", async () => {
  const cluster = createCluster({ rootNodes: testRedisClusterUrls().map((url) => ({ url })) });
  cluster.on("error", () => {});
  await cluster.connect();
  try {
    const slot = (key: string) => cluster.sendCommand(key, true, ["CLUSTER", "KEYSLOT", key]);
    for (const user of ["42", "e2e-{weird}:id", crypto.randomUUID()]) {
      const keys = [userKey(user, "rate"), deviceKey(user, "d1", "rate"), userKey(user, "cache")];
      const slots = await Promise.all(keys.map(slot));
      assert.equal(new Set(slots).size, 1, `${user}: ${keys} -> ${slots}`);
      // What a rate limiter does: one MULTI across the user's and the device's keys.
      const results = await cluster.multi(keys[0])
        .incr(keys[0]).incr(keys[1]).del(keys[0]).del(keys[1]).exec();
      assert.deepEqual(results, [1, 1, 1, 1]);
    }
  } finally {
    cluster.destroy();
  }
});
