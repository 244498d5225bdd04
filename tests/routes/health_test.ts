import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";

Deno.test("/health, /ready and /metrics answer without a token", async () => {
  await using t = await openTestApp("pglite");
  const health = await t.request("GET", "/health");
  assert.deepEqual([health.status, await health.json()], [200, { status: "ok" }]);
  const ready = await t.request("GET", "/ready");
  assert.equal(ready.status, 200);
  const body = await ready.json();
  assert.deepEqual([body.status, body.database, body.bus, body.listener], [
    "ready",
    { ok: true, kind: "pglite" },
    { ok: true, kind: "memory" },
    null,
  ]);
  await t.request("GET", "/api/devices");
  const metrics = await t.request("GET", "/metrics");
  assert.equal(metrics.status, 200);
  const text = await metrics.text();
  assert.match(text, /^devpocket_ws_sockets 0$/m);
  assert.match(text, /^# TYPE process_resident_memory_bytes gauge$/m);
  assert.match(
    text,
    /^devpocket_http_requests_total\{method="GET",route="\/health",status="200"\} 1$/m,
  );
  assert.match(
    text,
    /^devpocket_http_requests_total\{method="GET",route="\/api\/devices",status="401"\} 1$/m,
  );
});

Deno.test("/ready answers 503 naming the part that is down: a closed bus", async () => {
  await using t = await openTestApp("pglite");
  assert.equal((await t.request("GET", "/ready")).status, 200);
  await t.bus.close();
  const ready = await t.request("GET", "/ready");
  assert.equal(ready.status, 503);
  const body = await ready.json();
  assert.deepEqual([body.status, body.bus.ok, body.database.ok], ["not_ready", false, true]);
});

Deno.test("unknown paths answer 404 in the contract's error shape", async () => {
  await using t = await openTestApp("pglite");
  const res = await t.request("GET", "/api/nope");
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), {
    error: { code: "NOT_FOUND", message: "No such endpoint", details: {} },
  });
});
