/** What every shared limiter must do, whatever store it shares budgets through. */
import assert from "node:assert/strict";
import type { Limiter, Quota } from "../../../sync/rate_limit/limiter.ts";
import { deviceKey } from "../../../sync/redis_keys.ts";

/** Three requests a minute: small enough to run out of in a test. */
export const QUOTA: Quota = { limit: 3, windowSeconds: 60 };

/** A rate-limit key of a fresh device (of a fresh user unless named), as the routes name it. */
export function freshKey(userId = crypto.randomUUID()): string {
  return deviceKey(userId, crypto.randomUUID(), "rate");
}

/** Whether each of `n` requests of `key` was allowed. */
export async function allowedOf(limiter: Limiter, key: string, n: number): Promise<boolean[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await limiter.consume(key, QUOTA)).allowed);
  return out;
}

/**
 * Alternates `requests` requests of one key between two instances' limiters and checks that
 * they drew on one budget of three, not one each.
 */
export async function assertOneBudget(a: Limiter, b: Limiter, key: string, requests: number) {
  const verdicts = [];
  for (let i = 0; i < requests; i++) verdicts.push(await (i % 2 ? b : a).consume(key, QUOTA));
  assert.deepEqual(
    verdicts.map((v) => [v.allowed, v.remaining]),
    [[true, 2], [true, 1], [true, 0], ...Array(requests - 3).fill([false, 0])],
  );
  assert.ok(verdicts.every((v) => v.resetSeconds >= 1 && v.resetSeconds <= 60));
}
