import assert from "node:assert/strict";
import * as jose from "jose";
import { SqlStore } from "../../db/sql_store.ts";
import { sha256Hex } from "../../sync/hashing.ts";
import { type AccountTokenExtras, openTestApp, TEST_SECRET, type TestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { command } from "../support/changes.ts";

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Pushes one new command with the device token; answers the status and the error body. */
async function pushStatus(t: TestApp, token: string) {
  const res = await t.request("POST", "/api/sync/data", {
    token,
    body: { changes: [command(`echo ${crypto.randomUUID()}`)] },
  });
  return { status: res.status, body: await res.json() };
}

/** Shows the service an account token the way an app does: by listing devices with it. */
async function see(t: TestApp, userId: string, tier: "free" | "pro", extra: AccountTokenExtras) {
  const res = await t.request("GET", "/api/devices", {
    token: await t.accountToken(userId, tier, extra),
  });
  assert.equal(res.status, 200);
}

withDrivers("account tokens", (_open, kind) => {
  Deno.test({
    name:
      "the newest token seen sets the tier of device tokens: a lapse binds, a renewal lifts 402",
    fn: async () => {
      await using t = await openTestApp(kind);
      const issued = nowSeconds() - 1000;
      const lapsed = nowSeconds() - 60;
      const renewed = nowSeconds() + 86400;
      const reg = await t.request("POST", "/api/devices/register", {
        token: await t.accountToken("alice", "pro", { issuedAt: issued }),
        body: { name: "phone", platform: "ios" },
      });
      const phone = await reg.json();
      assert.equal((await pushStatus(t, phone.token)).status, 200);

      await see(t, "alice", "pro", { issuedAt: issued + 10, tierExpiresAt: lapsed });
      const refused = await pushStatus(t, phone.token);
      assert.equal(refused.status, 402);
      assert.equal(refused.body.error.code, "SYNC_SUBSCRIPTION_EXPIRED");
      assert.deepEqual(refused.body.error.details.upgrade, {
        tier: "pro",
        reason: "subscription_expired",
      });
      // Reads keep working.
      assert.equal((await t.request("GET", "/api/sync/data", { token: phone.token })).status, 200);

      await see(t, "alice", "pro", { issuedAt: issued + 20, tierExpiresAt: renewed });
      assert.equal((await pushStatus(t, phone.token)).status, 200);

      // An older token seen later changes nothing.
      await see(t, "alice", "pro", { issuedAt: issued + 15, tierExpiresAt: lapsed });
      assert.equal((await pushStatus(t, phone.token)).status, 200);

      // Equal iat: the one seen last wins, either way.
      await see(t, "alice", "pro", { issuedAt: issued + 20, tierExpiresAt: lapsed });
      assert.equal((await pushStatus(t, phone.token)).status, 402);
      await see(t, "alice", "pro", { issuedAt: issued + 20, tierExpiresAt: renewed });
      assert.equal((await pushStatus(t, phone.token)).status, 200);
    },
  });

  Deno.test({
    name: "register and delete record the account token too, even when the delete answers 404",
    fn: async () => {
      await using t = await openTestApp(kind);
      const phone = await t.device("bob");
      const lapsed = await t.accountToken("bob", "pro", {
        issuedAt: nowSeconds(),
        tierExpiresAt: nowSeconds() - 60,
      });
      const gone = await t.request("DELETE", `/api/devices/${crypto.randomUUID()}`, {
        token: lapsed,
      });
      assert.equal(gone.status, 404);
      assert.equal((await pushStatus(t, phone.token)).status, 402);
      // Registering a second device with a newer renewal lifts it for the first one too.
      const renewal = await t.accountToken("bob", "pro", { issuedAt: nowSeconds() + 1 });
      const reg = await t.request("POST", "/api/devices/register", {
        token: renewal,
        body: { name: "laptop", platform: "macos" },
      });
      assert.equal(reg.status, 201);
      assert.equal((await pushStatus(t, phone.token)).status, 200);
    },
  });

  Deno.test({
    name: "team_id and team_role of the newest token are stored for the user's device tokens",
    fn: async () => {
      await using t = await openTestApp(kind);
      const store = new SqlStore(t.db.driver);
      const issued = nowSeconds() - 1000;
      const reg = await (await t.request("POST", "/api/devices/register", {
        token: await t.accountToken("carol", "team", {
          issuedAt: issued,
          teamId: "t1",
          teamRole: "admin",
        }),
        body: { name: "phone", platform: "ios" },
      })).json();
      const account = async () =>
        (await store.findDeviceByTokenHash(sha256Hex(reg.token)))!.account;
      assert.deepEqual(await account(), {
        userId: "carol",
        tier: "team",
        tierExpiresAt: null,
        teamId: "t1",
        teamRole: "admin",
      });
      await see(t, "carol", "pro", { issuedAt: issued - 5, teamId: "t2", teamRole: "member" });
      assert.deepEqual([(await account()).teamId, (await account()).teamRole], ["t1", "admin"]);
      await see(t, "carol", "pro", { issuedAt: issued + 5 });
      assert.deepEqual(await account(), {
        userId: "carol",
        tier: "pro",
        tierExpiresAt: null,
        teamId: null,
        teamRole: "member",
      });
    },
  });

  Deno.test({
    name: "account tokens without iat, or issued for longer than 400 days, answer 401",
    fn: async () => {
      await using t = await openTestApp(kind);
      const sign = (claims: jose.JWTPayload) =>
        new jose.SignJWT({ sub: "dave", tier: "pro", ...claims })
          .setProtectedHeader({ alg: "HS256" })
          .sign(new TextEncoder().encode(TEST_SECRET));
      const issued = nowSeconds() - 30 * 86400;
      const tokens = [
        await sign({ exp: nowSeconds() + 3600 }),
        // 370 days left, but issued for 401 days.
        await sign({ iat: issued, exp: issued + 401 * 86400 }),
        await sign({ iat: nowSeconds() + 3600, exp: nowSeconds() + 7200 }),
      ];
      for (const token of tokens) {
        for (
          const res of [
            await t.request("GET", "/api/devices", { token }),
            await t.request("POST", "/api/devices/register", {
              token,
              body: { name: "x", platform: "ios" },
            }),
          ]
        ) {
          assert.equal(res.status, 401);
          assert.equal((await res.json()).error.code, "UNAUTHORIZED");
        }
      }
      // Nothing of a refused token is recorded.
      const users = await t.db.driver.query("select user_id from users where user_id = 'dave'");
      assert.equal(users.length, 0);
    },
  });
});
