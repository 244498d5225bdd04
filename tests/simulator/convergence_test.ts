/** The simulator's convergence check sees every way a device can differ from the server. */
import assert from "node:assert/strict";
import { memoryStore, SyncApi, SyncClient } from "../../client/mod.ts";
import { differences, fullPull } from "../../simulator/convergence.ts";
import { NetworkLink } from "../../simulator/network_link.ts";
import { openTestApp } from "../support/app.ts";

Deno.test("differences() lists missing, extra, stale and queued items, and nothing once a device caught up", async () => {
  await using t = await openTestApp("pglite");
  const baseUrl = await t.serve();
  const [a, b] = [await t.device("kim", "a"), await t.device("kim", "b")];
  const link = new NetworkLink();
  const writer = new SyncClient({
    baseUrl,
    deviceToken: a.token,
    store: memoryStore(),
    realtime: false,
  });
  const reader = new SyncClient({
    baseUrl,
    deviceToken: b.token,
    store: memoryStore(),
    realtime: false,
    fetch: link.fetch,
  });
  try {
    await writer.start();
    await reader.start();
    writer.put("settings", "ui", { theme: "dark" });
    writer.put("settings", "gone", { x: 1 });
    await writer.flush();
    const api = new SyncApi({ baseUrl, token: a.token });
    assert.deepEqual(differences(reader, await fullPull(api)).sort(), [
      "settings/gone: on the server, not on the device",
      "settings/ui: on the server, not on the device",
    ]);
    await reader.pull();
    assert.deepEqual(differences(reader, await fullPull(api)), []);

    writer.put("settings", "ui", { theme: "light" });
    writer.delete("settings", "gone");
    await writer.flush();
    link.goOffline();
    reader.put("settings", "mine", { y: 2 });
    assert.deepEqual(differences(reader, await fullPull(api)).sort(), [
      "1 changes still queued",
      "settings/gone: on the device, not on the server",
      "settings/mine: on the device, not on the server",
      "settings/ui: version 1 here, 2 on the server",
    ]);
    link.goOnline();
    reader.wake();
    await reader.flush();
    await reader.pull();
    assert.deepEqual(differences(reader, await fullPull(api)), []);
    assert.deepEqual(differences(writer, await fullPull(api)), [
      "settings/mine: on the server, not on the device",
    ]);
  } finally {
    await writer.stop();
    await reader.stop();
  }
});
