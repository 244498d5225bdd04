import assert from "node:assert/strict";
import { AppError } from "../../sync/errors.ts";
import { type Account, assertWritable, isExpired, lowestTierAllowing } from "../../sync/tiers.ts";
import { openTestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { command } from "../support/changes.ts";

const EXPIRY_MS = 1_900_000_000_000;
const account: Account = {
  userId: "u",
  tier: "pro",
  tierExpiresAt: EXPIRY_MS,
  teamId: null,
  teamRole: "member",
};

Deno.test("isExpired() counts the expiry instant itself as expired", () => {
  assert.equal(isExpired(account, EXPIRY_MS - 1), false);
  assert.equal(isExpired(account, EXPIRY_MS), true);
  assert.equal(isExpired(account, EXPIRY_MS + 1), true);
  assert.equal(isExpired({ ...account, tierExpiresAt: null }, Number.MAX_SAFE_INTEGER), false);
});

Deno.test("assertWritable() refuses an expired tier with 402 offering to renew that tier", () => {
  assertWritable(account, EXPIRY_MS - 1);
  assert.throws(() => assertWritable({ ...account, tier: "team" }, EXPIRY_MS), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.deepEqual([error.code, error.status, error.details], [
      "SYNC_SUBSCRIPTION_EXPIRED",
      402,
      { upgrade: { tier: "team", reason: "subscription_expired" } },
    ]);
    return true;
  });
});

Deno.test("lowestTierAllowing() names the lowest tier whose limits allow it, or null", () => {
  assert.equal(lowestTierAllowing((limits) => limits.devices > 2), "pro");
  assert.equal(lowestTierAllowing((limits) => limits.devices > 10), "enterprise");
  assert.equal(lowestTierAllowing((limits) => limits.keepsHistory), "pro");
  assert.equal(lowestTierAllowing((limits) => limits.devices > 1_000_000), null);
});

withDrivers("tier expiry", (_open, kind) => {
  Deno.test({
    name: "a push at exactly tier_expires_at answers 402; one millisecond before is stored",
    fn: async () => {
      let now = 0;
      await using t = await openTestApp(kind, { clock: () => now });
      const expiresAt = Math.floor(Date.now() / 1000) + 86400;
      const reg = await (await t.request("POST", "/api/devices/register", {
        token: await t.accountToken("frank", "pro", { tierExpiresAt: expiresAt }),
        body: { name: "phone", platform: "ios" },
      })).json();
      const push = async () =>
        (await t.request("POST", "/api/sync/data", {
          token: reg.token,
          body: { changes: [command(`echo ${crypto.randomUUID()}`)] },
        })).status;
      now = expiresAt * 1000 - 1;
      assert.equal(await push(), 200);
      now = expiresAt * 1000;
      assert.equal(await push(), 402);
    },
  });
});
