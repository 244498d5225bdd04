import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";

withDrivers("devices", (_open, kind) => {
  Deno.test({
    name:
      "register answers 201 with a token; the same install_id is the same device with a new token",
    fn: async () => {
      await using t = await openTestApp(kind);
      const account = await t.accountToken("alice");
      const body = { name: "iPhone", platform: "ios", install_id: "inst-1", app_version: "1.2.0" };
      const first = await t.request("POST", "/api/devices/register", { token: account, body });
      assert.equal(first.status, 201);
      const a = await first.json();
      assert.match(a.token, /^dpd_[A-Za-z0-9_-]{43}$/);
      assert.equal(a.device.name, "iPhone");
      assert.equal(a.device.cursor, "c1.0");
      const again = await (await t.request("POST", "/api/devices/register", {
        token: account,
        body: { ...body, name: "Renamed" },
      })).json();
      assert.equal(again.device.id, a.device.id);
      assert.equal(again.device.name, "Renamed");
      assert.notEqual(again.token, a.token);
      assert.equal((await t.request("GET", "/api/devices", { token: a.token })).status, 401);
      const list = await (await t.request("GET", "/api/devices", { token: again.token })).json();
      assert.deepEqual(list.devices.map((d: { id: string }) => d.id), [a.device.id]);
    },
  });

  Deno.test({
    name: "list shows every device of the user only, with last_seen_at, online and cursor",
    fn: async () => {
      await using t = await openTestApp(kind);
      const phone = await t.device("alice", "phone");
      const laptop = await t.device("alice", "laptop");
      await t.device("bob", "bob-phone");
      const res = await t.request("GET", "/api/devices", { token: await t.accountToken("alice") });
      assert.equal(res.status, 200);
      const { devices } = await res.json();
      assert.deepEqual(
        devices.map((d: { id: string }) => d.id).sort(),
        [phone.id, laptop.id].sort(),
      );
      for (const d of devices) {
        assert.deepEqual(Object.keys(d).sort(), [
          "app_version",
          "behind",
          "created_at",
          "cursor",
          "id",
          "install_id",
          "last_seen_at",
          "name",
          "online",
          "platform",
        ]);
        assert.equal(d.online, true);
        assert.equal(typeof d.last_seen_at, "number");
      }
    },
  });

  Deno.test({
    name: "deleting a device makes its token fail at once; another user's device answers 404",
    fn: async () => {
      await using t = await openTestApp(kind);
      const phone = await t.device("alice", "phone");
      const laptop = await t.device("alice", "laptop");
      const bob = await t.device("bob");
      const foreign = await t.request("DELETE", `/api/devices/${bob.id}`, { token: phone.token });
      assert.equal(foreign.status, 404);
      assert.equal((await foreign.json()).error.code, "NOT_FOUND");
      assert.equal(
        (await t.request("DELETE", "/api/devices/not-a-uuid", { token: phone.token })).status,
        404,
      );
      // Used first, so a cache of authenticated tokens would hold it: deletion must still bind.
      assert.equal((await t.request("GET", "/api/sync/data", { token: laptop.token })).status, 200);
      assert.equal((await t.request("GET", "/api/devices", { token: laptop.token })).status, 200);
      // One device signs another out.
      const res = await t.request("DELETE", `/api/devices/${laptop.id}`, { token: phone.token });
      assert.equal(res.status, 204);
      const after = await t.request("GET", "/api/sync/data", { token: laptop.token });
      assert.equal(after.status, 401);
      assert.equal((await after.json()).error.code, "UNAUTHORIZED");
      assert.equal((await t.request("GET", "/api/sync/data", { token: bob.token })).status, 200);
      assert.equal(
        (await t.request("DELETE", `/api/devices/${laptop.id}`, { token: phone.token })).status,
        404,
      );
    },
  });

  Deno.test({
    name: "the free tier registers 2 devices; the third answers 403 SYNC_DEVICE_LIMIT_EXCEEDED",
    fn: async () => {
      await using t = await openTestApp(kind);
      await t.device("carol", "a", "free");
      await t.device("carol", "b", "free");
      const res = await t.request("POST", "/api/devices/register", {
        token: await t.accountToken("carol", "free"),
        body: { name: "c", platform: "android" },
      });
      assert.equal(res.status, 403);
      const body = await res.json();
      assert.equal(body.error.code, "SYNC_DEVICE_LIMIT_EXCEEDED");
      assert.deepEqual(body.error.details, {
        limit: 2,
        tier: "free",
        upgrade: { tier: "pro", reason: "device_limit" },
      });
    },
  });

  Deno.test({
    name: "the device limit is the newest account token's tier, whichever token registers",
    fn: async () => {
      await using t = await openTestApp(kind);
      const issued = Math.floor(Date.now() / 1000) - 600;
      const free = await t.accountToken("carol", "free", { issuedAt: issued });
      const pro = await t.accountToken("carol", "pro", { issuedAt: issued + 10 });
      const register = (token: string, name: string) =>
        t.request("POST", "/api/devices/register", { token, body: { name, platform: "web" } });
      assert.equal((await register(free, "a")).status, 201);
      assert.equal((await register(free, "b")).status, 201);
      assert.equal((await register(free, "c")).status, 403);
      // The renewal to pro lifts the limit; the older free token seen afterwards does not lower it.
      assert.equal((await register(pro, "c")).status, 201);
      assert.equal((await register(free, "d")).status, 201);
      const { devices } = await (await t.request("GET", "/api/devices", { token: free })).json();
      assert.equal(devices.length, 4);
    },
  });

  Deno.test({
    name: "register refuses device tokens, bad bodies and missing tokens with the contract's codes",
    fn: async () => {
      await using t = await openTestApp(kind);
      const phone = await t.device("alice");
      const cases: [string | undefined, unknown, number, string][] = [
        [phone.token, { name: "x", platform: "ios" }, 401, "UNAUTHORIZED"],
        [undefined, { name: "x", platform: "ios" }, 401, "UNAUTHORIZED"],
        [await t.accountToken("alice"), { name: "", platform: "ios" }, 422, "VALIDATION_FAILED"],
        [
          await t.accountToken("alice"),
          { name: "x", platform: "ios", admin: true },
          422,
          "VALIDATION_FAILED",
        ],
        [await t.accountToken("alice"), "{not json", 422, "VALIDATION_FAILED"],
      ];
      for (const [token, body, status, code] of cases) {
        const res = await t.request("POST", "/api/devices/register", { token, body });
        assert.equal(res.status, status, JSON.stringify(body));
        assert.equal((await res.json()).error.code, code);
      }
    },
  });
});
