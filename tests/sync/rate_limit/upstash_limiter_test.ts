/** UpstashLimiter (@upstash/ratelimit) against the Upstash REST test double, on real Redis. */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { UpstashLimiter } from "../../../sync/rate_limit/upstash_limiter.ts";
import { testRedisUrl } from "../../support/services.ts";
import { startUpstashRestDouble } from "../../support/upstash_rest_double.ts";
import { allowedOf, assertOneBudget, freshKey } from "./shared_budget.ts";

const TOKEN = "upstash-double-token";

const client = (url: string) =>
  new Redis({ url, token: TOKEN, enableTelemetry: false, retry: { retries: 0 } });

Deno.test("UpstashLimiter (Upstash REST test double): two instances share one budget through its scripts", async () => {
  await using double = await startUpstashRestDouble(testRedisUrl(), TOKEN);
  const [a, b] = [new UpstashLimiter(client(double.url)), new UpstashLimiter(client(double.url))];
  await assertOneBudget(a, b, freshKey(), 4);
});

Deno.test("UpstashLimiter (Upstash REST test double): unreachable, it counts in this instance's memory", async () => {
  const double = await startUpstashRestDouble(testRedisUrl(), TOKEN);
  const limiter = new UpstashLimiter(client(double.url));
  await double.close();
  assert.deepEqual(await allowedOf(limiter, freshKey(), 4), [true, true, true, false]);
});
