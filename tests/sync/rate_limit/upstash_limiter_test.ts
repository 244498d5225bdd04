/** UpstashLimiter (@upstash/ratelimit) against the Upstash REST test double, on real Redis. */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import type { Quota } from "../../../sync/rate_limit/limiter.ts";
import { UpstashLimiter } from "../../../sync/rate_limit/upstash_limiter.ts";
import { testRedisUrl } from "../../support/services.ts";
import { startUpstashRestDouble } from "../../support/upstash_rest_double.ts";

const QUOTA: Quota = { limit: 3, windowSeconds: 60 };
const TOKEN = "upstash-double-token";

const client = (url: string) =>
  new Redis({ url, token: TOKEN, enableTelemetry: false, retry: { retries: 0 } });

Deno.test("UpstashLimiter (Upstash REST test double): two instances share one budget through its scripts", async () => {
  await using double = await startUpstashRestDouble(testRedisUrl(), TOKEN);
  const [a, b] = [new UpstashLimiter(client(double.url)), new UpstashLimiter(client(double.url))];
  const key = `device:${crypto.randomUUID()}`;
  const verdicts = [];
  for (let i = 0; i < 4; i++) verdicts.push(await (i % 2 ? b : a).consume(key, QUOTA));
  assert.deepEqual(verdicts.map((v) => [v.allowed, v.remaining]), [
    [true, 2],
    [true, 1],
    [true, 0],
    [false, 0],
  ]);
  assert.ok(verdicts.every((v) => v.resetSeconds >= 1 && v.resetSeconds <= 60));
});

Deno.test("UpstashLimiter (Upstash REST test double): unreachable, it counts in this instance's memory", async () => {
  const double = await startUpstashRestDouble(testRedisUrl(), TOKEN);
  const limiter = new UpstashLimiter(client(double.url));
  await double.close();
  const key = `device:${crypto.randomUUID()}`;
  const allowed = [];
  for (let i = 0; i < 4; i++) allowed.push((await limiter.consume(key, QUOTA)).allowed);
  assert.deepEqual(allowed, [true, true, true, false]);
});
