import assert from "node:assert/strict";
import { openTestApp, type TestApp } from "../support/app.ts";
import { change, command } from "../support/changes.ts";
import { withDrivers } from "../support/drivers.ts";
import { eventually } from "../support/eventually.ts";
import { Scrape } from "../support/scrape.ts";
import { connectWs } from "../support/ws_client.ts";

const scrape = async (t: TestApp) => Scrape.of(await t.request("GET", "/metrics"));

withDrivers("GET /metrics", (_open, kind) => {
  Deno.test({
    name: "counts push results by collection and status, conflicts by strategy and outcome, " +
      "filtered commands and pulls by tier",
    fn: async () => {
      await using t = await openTestApp(kind);
      const a = await t.device("alice", "a");
      const b = await t.device("alice", "b");
      const before = await scrape(t);
      const push = (token: string, changes: unknown[]) =>
        t.request("POST", "/api/sync/data", { token, body: { changes } });
      assert.equal(
        (await push(a.token, [
          change("settings", "ui", { theme: "dark" }),
          change("settings", "terminal", { font: 12 }),
          command("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
          { change_id: crypto.randomUUID(), collection: "passwords", id: "x", op: "delete" },
        ])).status,
        200,
      );
      // A stale edit of settings/ui: field_merge (the settings default) settles it.
      await push(b.token, [
        change("settings", "ui", { theme: "light" }, { base_version: null, modified_at: 2000 }),
      ]);
      await t.request("GET", "/api/sync/data", { token: a.token });
      const after = await scrape(t);
      const moved = (name: string, labels: Record<string, string> = {}) =>
        after.value(name, labels) - before.value(name, labels);

      const results = "devpocket_sync_push_results_total";
      assert.equal(after.type(results), "counter");
      assert.equal(moved(results, { collection: "settings", status: "applied" }), 2);
      assert.equal(moved(results, { collection: "commands", status: "filtered" }), 1);
      assert.equal(moved(results, { collection: "invalid", status: "rejected" }), 1);
      assert.equal(moved(results), 5);
      assert.equal(moved("devpocket_sync_filtered_commands_total"), 1);
      assert.equal(moved("devpocket_sync_conflicts_total"), 1);
      assert.equal(moved("devpocket_sync_conflicts_total", { strategy: "field_merge" }), 1);
      assert.equal(moved("devpocket_sync_pulls_total", { tier: "pro" }), 1);
    },
  });
});

Deno.test("GET /metrics labels HTTP requests by route pattern and status, with latency and bytes", async () => {
  await using t = await openTestApp("pglite");
  const d = await t.device("alice");
  const missing = crypto.randomUUID();
  assert.equal(
    (await t.request("DELETE", `/api/devices/${missing}`, { token: d.token })).status,
    404,
  );
  assert.equal((await t.request("GET", `/api/devices/${missing}`, { token: d.token })).status, 405);
  assert.equal((await t.request("GET", "/api/nope/at/all")).status, 404);
  const body = JSON.stringify({ changes: [change("settings", "ui", { theme: "dark" })] });
  // Over real HTTP, so the client sends Content-Length as apps do.
  const pushed = await fetch(`${await t.serve()}/api/sync/data`, {
    method: "POST",
    headers: { authorization: `Bearer ${d.token}`, "content-type": "application/json" },
    body,
  });
  const answer = new Uint8Array(await pushed.arrayBuffer());
  assert.equal(pushed.headers.get("content-length"), String(answer.byteLength));

  const m = await scrape(t);
  const route = (route: string, status: number, method: string) =>
    m.value("devpocket_http_requests_total", { method, route, status: String(status) });
  assert.equal(route("/api/devices/:id", 404, "DELETE"), 1);
  assert.equal(route("/api/devices/:id", 405, "GET"), 1);
  assert.equal(route("unmatched", 404, "GET"), 1);
  assert.equal(route("/api/devices/register", 201, "POST"), 1);
  const latency = m.histogram("devpocket_http_request_duration_seconds", {
    route: "/api/sync/data",
    method: "POST",
  });
  assert.equal(m.type("devpocket_http_request_duration_seconds"), "histogram");
  assert.equal(latency.count, 1);
  assert.ok(latency.sum > 0 && latency.sum < 60, `latency sum ${latency.sum}`);
  const bytes = { method: "POST", route: "/api/sync/data" };
  assert.equal(m.value("devpocket_http_request_bytes_total", bytes), body.length);
  assert.equal(m.value("devpocket_http_response_bytes_total", bytes), answer.byteLength);

  const ids = [d.id, missing, "alice"];
  const leaked = m.labelValues().filter((v) => ids.some((id) => v.includes(id)));
  assert.deepEqual(leaked, [], "no user or device id may be a label value");
  assert.ok(m.value("process_resident_memory_bytes") > 0);
  assert.throws(() => m.value("nodejs_eventloop_lag_seconds"), /No metric/);
});

Deno.test("GET /metrics counts sockets, WebSocket messages by type, closes by code and bus publishes", async () => {
  await using t = await openTestApp("pglite");
  const base = await t.serve();
  const d = await t.device("alice");
  const before = await scrape(t);
  {
    await using socket = await connectWs(base, d.token);
    await eventually(async () => (await scrape(t)).value("devpocket_ws_sockets") === 1);
    socket.send({ type: "ping" });
    assert.deepEqual(await socket.next(), { type: "pong" });
    socket.send({ type: "nonsense" });
    assert.equal((await socket.next()).type, "error");
  }
  let after = before;
  await eventually(async () => {
    after = await scrape(t);
    return after.value("devpocket_ws_closes_total", { code: "1000" }) === 1;
  });
  assert.equal(after.value("devpocket_ws_sockets"), 0);
  const ws = (direction: string, type: string) =>
    after.value("devpocket_ws_messages_total", { direction, type });
  assert.deepEqual([ws("in", "ping"), ws("out", "pong"), ws("in", "invalid"), ws("out", "error")], [
    1,
    1,
    1,
    1,
  ]);
  // online and offline device_status events went out on the (in-process) bus.
  const published = after.value("devpocket_bus_publishes_total") -
    before.value("devpocket_bus_publishes_total");
  assert.equal(published, 2);
  assert.equal(after.value("devpocket_bus_publish_errors_total"), 0);
});
