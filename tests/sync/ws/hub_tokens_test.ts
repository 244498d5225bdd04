/**
 * The hub against the real app and store (both drivers, real sockets): a socket lives only
 * as long as the token it opened with, and a hint survives a policy it cannot read.
 */
import assert from "node:assert/strict";
import { userChannel } from "../../../sync/events.ts";
import { openTestApp, type TestApp } from "../../support/app.ts";
import { type DriverKind, withDrivers } from "../../support/drivers.ts";
import { assertPong, connectWs } from "../../support/ws_client.ts";
import { closedWithin } from "../../e2e/devices.ts";

async function register(
  t: TestApp,
  userId: string,
  name: string,
  installId?: string,
): Promise<{ id: string; token: string }> {
  const res = await t.request("POST", "/api/devices/register", {
    token: await t.accountToken(userId),
    body: { name, platform: "ios", ...(installId && { install_id: installId }) },
  });
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  return { id: body.device.id, token: body.token };
}

/** The app served, alice's phone registered, and her laptop's socket open (the watcher). */
async function aliceWatching(kind: DriverKind, phoneInstallId?: string) {
  const t = await openTestApp(kind);
  try {
    const base = await t.serve();
    const phone = await register(t, "alice", "phone", phoneInstallId);
    const laptop = await register(t, "alice", "laptop");
    const watcher = await connectWs(base, laptop.token);
    await assertPong(watcher);
    return {
      t,
      base,
      phone,
      watcher,
      async [Symbol.asyncDispose]() {
        await watcher[Symbol.asyncDispose]();
        await t[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await t[Symbol.asyncDispose]();
    throw error;
  }
}

withDrivers("Hub", (_open, kind) => {
  Deno.test({
    name:
      "registering an install_id again closes the old token's sockets with 4401 and keeps the new one's",
    fn: async () => {
      await using alice = await aliceWatching(kind, "phone-1");
      const { t, base, phone: first, watcher } = alice;
      await using old = await connectWs(base, first.token);
      await assertPong(old);

      const again = await register(t, "alice", "phone", "phone-1");
      assert.equal(again.id, first.id, "the same device");
      assert.equal((await closedWithin(old, 5_000)).code, 4401);
      await using fresh = await connectWs(base, again.token);
      await assertPong(fresh);
      const pull = await t.request("GET", "/api/sync/data", { token: first.token });
      assert.equal(pull.status, 401);
      // Another device heard the phone come online twice (old socket, then new), and no
      // offline or revoked for the old one.
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(await watcher.next(), {
          type: "device_status",
          device_id: first.id,
          status: "online",
        });
      }
      await assertPong(watcher);
    },
  });

  Deno.test({
    name:
      "an ack from a device that no longer exists closes its socket with 4401 and announces nothing",
    fn: async () => {
      await using alice = await aliceWatching(kind);
      const { t, base, phone, watcher } = alice;
      await using gone = await connectWs(base, phone.token);
      await assertPong(gone);
      assert.deepEqual(await watcher.next(), {
        type: "device_status",
        device_id: phone.id,
        status: "online",
      });

      // Deleted without its revoke reaching this hub (as when it is lost in a bus gap).
      await t.db.driver.query("delete from devices where id = $1", [phone.id]);
      gone.send({ type: "ack", cursor: "c1.0" });
      assert.equal((await closedWithin(gone, 5_000)).code, 4401);
      // No sync_completed, and no offline for a device that is gone.
      await assertPong(watcher);
    },
  });

  Deno.test({
    name:
      "a hint whose collection policy cannot be read goes out naming every collection of the event",
    fn: async () => {
      await using alice = await aliceWatching(kind);
      const { t, phone, watcher: ws } = alice;

      // The policy lives in the `sync` settings item: reading it now fails in the store.
      await t.db.driver.query("alter table items rename to items_unreadable");
      const event = {
        type: "changes",
        cursor: "c1.5",
        collections: ["commands", "ssh_profiles"],
        origin_device_id: phone.id,
      };
      await t.bus.publish(userChannel("alice"), JSON.stringify(event));
      assert.deepEqual(await ws.next(), {
        type: "sync_data_available",
        cursor: "c1.5",
        collections: ["commands", "ssh_profiles"],
        origin_device_id: phone.id,
      });
    },
  });
});
