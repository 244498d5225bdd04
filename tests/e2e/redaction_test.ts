/**
 * Redaction end to end, as deployed: two instances on one real Postgres (wal_level=logical)
 * and one real Redis. The redacted tombstones travel like any delete: WAL → listener →
 * `sync:user:<id>` → a socket on the other instance, whose pull then shows them.
 */
import assert from "node:assert/strict";
import { change, command } from "../support/changes.ts";
import type { Instance } from "../support/instance.ts";
import { rowsHolding } from "../support/trace.ts";
import { openCluster } from "./cluster.ts";
import { type Device, randomUser, register, watch } from "./devices.ts";

const SECRET = "quince-5518-basalt";

async function push(at: Instance, device: Device, changes: unknown[]) {
  const res = await at.request("POST", "/api/sync/data", {
    token: device.token,
    body: { changes },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as { results: { status: string }[]; cursor: string };
}

async function pull(at: Instance, device: Device, since: string) {
  const res = await at.request("GET", `/api/sync/data?limit=1000&since=${since}`, {
    token: device.token,
  });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as {
    changes: { id: string; deleted: boolean; redacted?: true; data: unknown }[];
    cursor: string;
  };
}

Deno.test("e2e: a redaction through one instance reaches a socket on the other, whose pull shows the redacted tombstones; no table keeps the secret", async () => {
  await using c = await openCluster();
  const userId = randomUser();
  const phone = await register(c.a, userId, "phone");
  const laptop = await register(c.b, userId, "laptop");
  const leaked = command(`echo ${SECRET}`);
  const edited = command(`curl -H ${SECRET} example.com`);
  const clean = command("uptime");
  await push(c.a, phone, [leaked, edited, clean]);
  await push(c.a, phone, [command("curl example.com", { id: edited.id, base_version: 1 })]);
  const { cursor } = await pull(c.b, laptop, "c1.0");
  assert.equal(cursor, "c1.4");
  await using onB = await watch(c.b, laptop, cursor);

  const res = await c.a.request("POST", "/api/sync/redact", {
    token: phone.token,
    body: { pattern: "quince-[0-9]+-basalt" },
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { redacted: 2 });
  const hint = await onB.waitFor("c1.6");
  // No device wrote the tombstones: the redacting phone is told too.
  assert.deepEqual({ ...hint, at: 0 }, {
    at: 0,
    cursor: "c1.6",
    collections: ["commands"],
    origin: null,
  });
  const page = await pull(c.b, laptop, cursor);
  assert.deepEqual(
    page.changes.map((ch) => [ch.id, ch.deleted, ch.redacted, ch.data]).sort(),
    [leaked.id, edited.id].sort().map((id) => [id, true, true, null]),
  );
  assert.equal(page.cursor, "c1.6");
  assert.deepEqual(await rowsHolding(c.db.driver, SECRET), []);

  // A pattern added to secret_patterns redacts what is stored the same way.
  await push(c.a, phone, [command("echo fig-0001-slate")]);
  await onB.waitFor("c1.7");
  await push(c.a, phone, [change("settings", "sync", { secret_patterns: ["fig-[0-9]{4}-slate"] })]);
  await onB.waitFor("c1.9");
  const last = await pull(c.b, laptop, "c1.8");
  assert.deepEqual(last.changes.map((ch) => [ch.deleted, ch.redacted]), [[true, true]]);
  assert.deepEqual(await rowsHolding(c.db.driver, "fig-0001-slate"), []);
});
