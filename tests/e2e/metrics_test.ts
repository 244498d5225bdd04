/**
 * `/metrics` of instances wired as deployed (real Postgres with a replication slot, real
 * Redis), scraped over HTTP: the replication gauges read the running listener.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import type { Instance } from "../support/instance.ts";
import { Scrape } from "../support/scrape.ts";
import { openCluster } from "./cluster.ts";
import { push, randomUser, register } from "./devices.ts";

const scrape = async (at: Instance) => Scrape.of(await at.request("GET", "/metrics"));

Deno.test("e2e: /metrics reports the slot holder's role, wal_status and lag, and the publishes of its listener", async () => {
  await using cluster = await openCluster({ b: "api" });
  const { a, b } = cluster;
  const device = await register(a, randomUser(), "phone");
  let m = await scrape(a);
  await eventually(
    async () => {
      m = await scrape(a);
      return m.value("devpocket_replication_wal_status", { wal_status: "reserved" }) === 1;
    },
    10_000,
    "the holder's first slot check",
  );
  assert.deepEqual(
    ["holder", "standby", "stopped"].map((role) => m.value("devpocket_replication_role", { role })),
    [1, 0, 0],
  );
  assert.equal(m.value("devpocket_replication_wal_status", { wal_status: "lost" }), 0);
  assert.equal(m.value("devpocket_replication_slot_lost"), 0);
  assert.equal(m.value("devpocket_replication_streaming"), 1);
  assert.equal(m.type("devpocket_replication_lag_bytes"), "gauge");
  assert.ok(m.value("devpocket_replication_lag_bytes") >= 0);

  const published = m.value("devpocket_bus_publishes_total");
  await push(a, device, { commands: 3 });
  // The listener publishes the committed transaction on the user's channel.
  await eventually(async () =>
    (await scrape(a)).value("devpocket_bus_publishes_total") > published
  );
  assert.equal((await scrape(a)).value("devpocket_bus_publish_errors_total"), 0);

  // ROLE=api runs no listener: no replication gauges, the rest as usual.
  const edge = await scrape(b);
  assert.throws(() => edge.value("devpocket_replication_role"), /No metric/);
  assert.equal(edge.value("devpocket_ws_sockets"), 0);
});
