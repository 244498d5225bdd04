/**
 * SyncClient's retries on a fake clock: the service is real, and a fetch wrapper answers
 * the first pushes with 503, 429 (Retry-After) and 408 in its place, so no test sleeps.
 */
import assert from "node:assert/strict";
import { memoryStore, type StatusEvent, SyncClient } from "../../client/mod.ts";
import { openTestApp } from "../support/app.ts";
import { eventually } from "../support/eventually.ts";
import { FakeRuntime } from "./fake_runtime.ts";

const TIMEOUT = 99_999;

Deno.test("SyncClient retries 503, 429 and 408 with full-jitter backoff, honouring Retry-After, then sends once", async () => {
  await using t = await openTestApp("pglite");
  const base = await t.serve();
  const device = await t.device("ivy");
  const faults = [
    new Response('{"error":{"code":"INTERNAL","message":"down"}}', { status: 503 }),
    new Response('{"error":{"code":"SYNC_RATE_LIMITED","message":"slow down","details":{}}}', {
      status: 429,
      headers: { "retry-after": "7" },
    }),
    new Response("", { status: 408 }),
  ];
  let pushes = 0;
  const faulty: typeof fetch = (input, init) => {
    if (init?.method === "POST" && pushes++ < faults.length) {
      return Promise.resolve(faults[pushes - 1]);
    }
    return fetch(input, init);
  };
  const runtime = new FakeRuntime(1_700_000_000_000, [0.5]);
  const client = new SyncClient({
    baseUrl: base,
    deviceToken: device.token,
    store: memoryStore(),
    fetch: faulty,
    runtime,
    realtime: false,
    requestTimeoutMs: TIMEOUT,
    backoff: { baseMs: 1_000, maxMs: 60_000 },
  });
  const statuses: StatusEvent[] = [];
  client.on("status", (s) => statuses.push(s));
  await client.start();
  client.put("settings", "ui", { theme: "dark" });
  let flushed = false;
  const flush = client.flush().then(() => flushed = true);
  const retries = () => runtime.delays.filter((d) => d !== TIMEOUT);

  const expected = [500, 7_000, 2_000];
  for (const [i, delay] of expected.entries()) {
    await eventually(() => retries().length === i + 1, 5_000, `retry ${i + 1} scheduled`);
    assert.equal(retries()[i], delay);
    await runtime.advance(delay - 1);
    assert.equal(pushes, i + 1, "not before its time");
    await runtime.advance(1);
  }
  await eventually(() => flushed, 5_000, "flush");
  await flush;
  assert.equal(pushes, 4);
  assert.deepEqual(
    statuses.filter((s) => s.state === "offline").map((s) => s.retryInMs),
    expected,
  );
  assert.equal(client.status.state, "online");
  const res = await t.request("GET", "/api/sync/data", { token: device.token });
  assert.deepEqual((await res.json()).changes.map((c: { data: unknown }) => c.data), [{
    theme: "dark",
  }]);
  await client.stop();
});

Deno.test("SyncClient sends a long queue in order, in batches of at most 500", async () => {
  await using t = await openTestApp("pglite");
  const base = await t.serve();
  const device = await t.device("jay");
  const sizes: number[] = [];
  let online = false;
  const counting: typeof fetch = (input, init) => {
    if (!online) return Promise.reject(new TypeError("offline"));
    if (init?.method === "POST") sizes.push(JSON.parse(String(init.body)).changes.length);
    return fetch(input, init);
  };
  const client = new SyncClient({
    baseUrl: base,
    deviceToken: device.token,
    store: memoryStore(),
    fetch: counting,
    realtime: false,
    backoff: { baseMs: 10, maxMs: 20 },
  });
  await client.start();
  for (let i = 0; i < 1_200; i++) {
    client.put("commands", `c${i}`, { command: `echo ${i}`, session_id: "s", started_at: i });
  }
  online = true;
  await client.flush();
  assert.deepEqual(sizes, [500, 500, 200]);
  await client.pull();
  assert.equal(client.list("commands").length, 1_200);
  assert.ok(client.list("commands").every((c) => c.version === 1 && !c.pending));
  await client.stop();
});
