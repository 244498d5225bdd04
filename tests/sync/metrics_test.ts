import assert from "node:assert/strict";
import { Metrics } from "../../sync/metrics.ts";

Deno.test("Metrics.work counts the HTTP requests answered, the socket messages sent or received and the bus's messages", () => {
  const metrics = new Metrics();
  assert.equal(metrics.work, 0);
  metrics.request({ method: "POST", route: "/api/sync/data", status: 200 }, 0.002, {
    request: 120,
    response: 80,
  });
  metrics.socketMessage("in", "ping");
  metrics.socketMessage("out", "pong");
  metrics.busPublished();
  metrics.busDelivered();
  metrics.pulled("free");
  assert.equal(metrics.work, 5);
});

Deno.test("Metrics: socket messages reach the scrape by direction and type, each counted once", async () => {
  const metrics = new Metrics();
  const count = async (direction: string, type: string) => {
    const metric = await metrics.wsMessages.get();
    const value = metric.values.find((v) =>
      v.labels.direction === direction && v.labels.type === type
    );
    return value?.value ?? 0;
  };
  for (let i = 0; i < 3; i++) metrics.socketMessage("out", "sync_data_available");
  metrics.socketMessage("in", "ping");
  assert.match(
    await metrics.registry.metrics(),
    /devpocket_ws_messages_total\{direction="out",type="sync_data_available"\} 3\n/,
  );
  assert.equal(await count("in", "ping"), 1);
  assert.equal(await count("out", "sync_data_available"), 3, "a second read adds nothing");
  metrics.socketMessage("out", "sync_data_available");
  assert.equal(await count("out", "sync_data_available"), 4);
  assert.equal(await count("out", "pong"), 0);
});
