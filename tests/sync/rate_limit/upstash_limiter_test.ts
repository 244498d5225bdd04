/** UpstashLimiter (@upstash/ratelimit) against the Upstash REST test double, on real Redis. */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { openLimiter } from "../../../sync/rate_limit/open_limiter.ts";
import { UpstashLimiter } from "../../../sync/rate_limit/upstash_limiter.ts";
import { testRedisUrl } from "../../support/services.ts";
import { startUpstashRestDouble } from "../../support/upstash_rest_double.ts";
import { allowedOf, assertOneBudget, freshKey } from "./shared_budget.ts";

const TOKEN = "upstash-double-token";

const client = (url: string) =>
  new Redis({ url, token: TOKEN, enableTelemetry: false, retry: { retries: 0 } });

Deno.test("UpstashLimiter (Upstash REST test double): two instances share one budget through its scripts", async () => {
  await using double = await startUpstashRestDouble(testRedisUrl(), TOKEN);
  // As the service opens it: the Upstash limiter is loaded only for an Upstash connection.
  const open = () =>
    openLimiter({ kind: "upstash", redis: client(double.url), close: async () => {} });
  const [a, b] = [await open(), await open()];
  assert.deepEqual([a.kind, b.kind], ["upstash", "upstash"]);
  await assertOneBudget(a, b, freshKey(), 4);
});

Deno.test("UpstashLimiter (Upstash REST test double): unreachable, it counts in this instance's memory", async () => {
  const double = await startUpstashRestDouble(testRedisUrl(), TOKEN);
  const limiter = new UpstashLimiter(client(double.url));
  await double.close();
  assert.deepEqual(await allowedOf(limiter, freshKey(), 4), [true, true, true, false]);
});
