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
