/**
 * Account tokens across instances: two app instances (ROLE=api) on one real Postgres and
 * one real Redis, over real HTTP. What one instance learns from an account token binds
 * the device tokens on the other at once.
 */
import assert from "node:assert/strict";
import { mintAccountToken } from "../../sync/account_tokens.ts";
import { TEST_SECRET } from "../support/app.ts";
import { openTestDb } from "../support/drivers.ts";
import { type Instance, openInstance } from "../support/instance.ts";
import { testRedisUrl } from "../support/services.ts";
import { command } from "../support/changes.ts";
import { randomUser } from "./devices.ts";

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function pushStatus(at: Instance, token: string): Promise<number> {
  const res = await at.request("POST", "/api/sync/data", {
    token,
    body: { changes: [command(`echo ${crypto.randomUUID()}`)] },
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("[postgres] a lapse seen by one instance binds at once on another; a renewal lifts it", async () => {
  await using db = await openTestDb("postgres");
  const common = { databaseUrl: db.url!, redisUrl: testRedisUrl(), slot: "unused" };
  await using a = await openInstance({ ...common, role: "api" });
  await using b = await openInstance({ ...common, role: "api" });
  const user = randomUser();
  const issued = nowSeconds() - 1000;
  const token = (offset: number, tierExpiresAt?: number) =>
    mintAccountToken(TEST_SECRET, {
      userId: user,
      tier: "pro",
      expiresInSeconds: 3600,
      issuedAt: issued + offset,
      ...(tierExpiresAt && { tierExpiresAt }),
    });
  const res = await b.request("POST", "/api/devices/register", {
    token: await token(0),
    body: { name: "phone", platform: "ios" },
  });
  assert.equal(res.status, 201);
  const phone = (await res.json()).token;
  assert.equal(await pushStatus(b, phone), 200);

  const list = async (at: Instance, accountToken: string) => {
    const listed = await at.request("GET", "/api/devices", { token: accountToken });
    assert.equal(listed.status, 200);
    await listed.body?.cancel();
  };
  await list(a, await token(10, nowSeconds() - 60));
  assert.equal(await pushStatus(b, phone), 402);
  await list(a, await token(20, nowSeconds() + 86400));
  assert.equal(await pushStatus(b, phone), 200);
});
