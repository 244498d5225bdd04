/** The embedded default's head and stats cache holds a bounded number of users. */
import assert from "node:assert/strict";
import { MemorySyncCache } from "../../../sync/cache/sync_cache.ts";

const stats = (head: number) => ({ head, body: { head } });

Deno.test("the memory cache never holds more users than its bound: a full map drops the entries written longest ago", async () => {
  const cache = new MemorySyncCache(() => 1_000, 10);
  for (let user = 0; user < 25; user++) {
    await cache.advance(`u${user}`, user);
    await cache.putStats(`u${user}`, stats(user));
    assert.ok(cache.size.heads <= 10 && cache.size.stats <= 10, JSON.stringify(cache.size));
  }
  // Each write to the full map drops down to nine (a tenth of ten) before it adds one.
  assert.deepEqual(cache.size, { heads: 10, stats: 10 });
  assert.equal(await cache.head("u14"), null);
  assert.equal(await cache.head("u15"), 15);
  assert.deepEqual(await cache.stats("u24"), { head: 24, stats: stats(24) });
  assert.deepEqual(await cache.stats("u10"), { head: null, stats: null });
});

Deno.test("the memory cache frees a tenth of its bound at once when full", async () => {
  const cache = new MemorySyncCache(() => 1_000, 100);
  for (let user = 0; user < 100; user++) await cache.advance(`u${user}`, user);
  assert.equal(cache.size.heads, 100);
  await cache.advance("u100", 100);
  assert.equal(cache.size.heads, 91);
  assert.equal(await cache.head("u9"), null);
  assert.equal(await cache.head("u10"), 10);
});

Deno.test("the memory cache drops expired entries before fresh ones when full, and a rewritten user counts as newest", async () => {
  let now = 0;
  const cache = new MemorySyncCache(() => now, 4);
  await cache.advance("old-a", 1);
  await cache.advance("old-b", 2);
  now = 20_000;
  await cache.advance("fresh", 3);
  await cache.advance("old-a", 4); // rewritten: newest now, expires at 50 s
  now = 31_000; // old-b (written at 0) expired; fresh (20 s) and old-a (20 s) have not
  await cache.advance("x", 5);
  await cache.advance("y", 6); // full: old-b expired is dropped, nothing fresh
  assert.equal(cache.size.heads, 4);
  assert.equal(await cache.head("fresh"), 3);
  assert.equal(await cache.head("old-a"), 4);
  assert.equal(await cache.head("old-b"), null);
  assert.equal(await cache.head("y"), 6);
});
