import assert from "node:assert/strict";
import { backoffDelay, parseRetryAfter } from "../../client/backoff.ts";

const POLICY = { baseMs: 500, maxMs: 60_000 };

Deno.test("backoffDelay() is full jitter: uniform in [0, base * 2^attempt)", () => {
  assert.equal(backoffDelay(0, POLICY, () => 0), 0);
  assert.equal(backoffDelay(0, POLICY, () => 0.999), 499);
  assert.equal(backoffDelay(3, POLICY, () => 0.5), 2000);
  assert.equal(backoffDelay(4, POLICY, () => 0.25), 2000);
});

Deno.test("backoffDelay() never exceeds the cap, however many attempts failed", () => {
  assert.equal(backoffDelay(7, POLICY, () => 0.999), 59_940);
  assert.equal(backoffDelay(1_000, POLICY, () => 0.999), 59_940);
  assert.equal(backoffDelay(1_000, POLICY, () => 0.5), 30_000);
});

Deno.test("backoffDelay() waits at least the server's Retry-After", () => {
  assert.equal(backoffDelay(0, POLICY, () => 0.5, 3_000), 3_000);
  // A later jittered delay is kept: Retry-After is a floor, not a schedule.
  assert.equal(backoffDelay(6, POLICY, () => 0.5, 3_000), 16_000);
});

Deno.test("parseRetryAfter() reads delay-seconds and HTTP dates, and nothing else", () => {
  const now = Date.parse("2026-11-30T10:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7_000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Mon, 30 Nov 2026 10:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Mon, 30 Nov 2026 09:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-5", now), undefined);
});
