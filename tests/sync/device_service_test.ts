/**
 * Device tokens remembered by a sole writer (the embedded database: one process makes every
 * change to devices and accounts), on a real PGlite store: read once, and forgotten by every
 * change that could make them wrong, so a removed device still fails at once.
 */
import assert from "node:assert/strict";
import { SqlStore } from "../../db/sql_store.ts";
import type { Account } from "../../sync/tiers.ts";
import { MemoryBus } from "../../sync/bus/memory_bus.ts";
import { inProcessNotifier } from "../../sync/change_notifier.ts";
import { REMEMBERED_TOKENS } from "../../sync/device_service.ts";
import { buildServices } from "../../sync/services.ts";
import { openTestDb } from "../support/drivers.ts";
import { countingCalls } from "../support/spies.ts";

const account = (userId: string, tier: Account["tier"] = "pro"): Account => ({
  userId,
  tier,
  tierExpiresAt: null,
  teamId: null,
  teamRole: "member",
});

/** The services on a fresh PGlite store whose device reads and touches are counted. */
async function devices(
  soleWriter: boolean,
  options: { clock?: () => number; holdReads?: () => Promise<void> } = {},
) {
  const db = await openTestDb("pglite");
  const store = new SqlStore(db.driver);
  const held: SqlStore = options.holdReads
    ? Object.assign(Object.create(store), {
      findDeviceByTokenHash: async (hash: string) => {
        const found = await store.findDeviceByTokenHash(hash);
        await options.holdReads!();
        return found;
      },
    })
    : store;
  const { proxy, calls } = countingCalls<SqlStore, "findDeviceByTokenHash" | "touchDevices">(
    held,
    ["findDeviceByTokenHash", "touchDevices"],
  );
  const services = buildServices(proxy, inProcessNotifier(new MemoryBus(), () => {}), {
    clock: options.clock,
    soleWriter,
  });
  let iat = 1;
  const record = (userId: string, tier?: Account["tier"]) =>
    services.devices.recordAccount({ account: account(userId, tier), issuedAt: iat++ });
  return {
    devices: services.devices,
    calls,
    record,
    async register(userId: string, name = "phone", installId?: string) {
      await record(userId);
      return await services.devices.register(account(userId), {
        name,
        platform: "ios",
        install_id: installId,
      });
    },
    [Symbol.asyncDispose]: () => db[Symbol.asyncDispose](),
  };
}

Deno.test("[pglite] device tokens: a sole writer reads a token once; an instance that shares its database reads it on every request", async () => {
  for (const [soleWriter, reads] of [[true, 1], [false, 3]] as const) {
    await using s = await devices(soleWriter);
    const { device, token } = await s.register("alice");
    for (let i = 0; i < 3; i++) {
      const who = await s.devices.authenticate(token);
      assert.equal(who.deviceId, device.id);
      assert.equal(who.account.userId, "alice");
    }
    assert.equal(s.calls.findDeviceByTokenHash, reads, `soleWriter ${soleWriter}`);
  }
});

Deno.test("[pglite] device tokens: a remembered token of a removed device fails at once", async () => {
  await using s = await devices(true);
  const { device, token } = await s.register("alice");
  await s.devices.authenticate(token);
  await s.devices.delete("alice", device.id);
  await assert.rejects(s.devices.authenticate(token), { code: "UNAUTHORIZED" });
});

Deno.test("[pglite] device tokens: registering again with the install_id makes the remembered old token fail at once", async () => {
  await using s = await devices(true);
  const first = await s.register("alice", "phone", "install-1");
  await s.devices.authenticate(first.token);
  const again = await s.register("alice", "phone", "install-1");
  assert.equal(again.device.id, first.device.id);
  await assert.rejects(s.devices.authenticate(first.token), { code: "UNAUTHORIZED" });
  assert.equal((await s.devices.authenticate(again.token)).deviceId, first.device.id);
});

Deno.test("[pglite] device tokens: a newer account token's tier counts at once for remembered tokens; other users' stay remembered", async () => {
  await using s = await devices(true);
  const alice = await s.register("alice");
  const bob = await s.register("bob");
  await s.devices.authenticate(alice.token);
  await s.devices.authenticate(bob.token);
  const reads = s.calls.findDeviceByTokenHash;
  await s.record("alice", "free");
  assert.equal((await s.devices.authenticate(alice.token)).account.tier, "free");
  assert.equal((await s.devices.authenticate(bob.token)).account.tier, "pro");
  assert.equal(s.calls.findDeviceByTokenHash, reads + 1, "only alice's token read again");
});

Deno.test("[pglite] device tokens: a read sent before a change is not remembered (the read held back by the test until the device is removed)", async () => {
  const release = Promise.withResolvers<void>();
  let hold = false;
  await using s = await devices(true, {
    holdReads: () => hold ? release.promise : Promise.resolve(),
  });
  const { device, token } = await s.register("alice");
  hold = true;
  const racing = s.devices.authenticate(token);
  await new Promise((resolve) => setTimeout(resolve, 20));
  hold = false;
  await s.devices.delete("alice", device.id);
  release.resolve();
  // Read before the removal, as without remembering: it answers what it read.
  assert.equal((await racing).deviceId, device.id);
  await assert.rejects(s.devices.authenticate(token), { code: "UNAUTHORIZED" });
});

Deno.test("[pglite] device tokens: a remembered device is still marked seen once a minute, not on every request", async () => {
  let now = Date.now();
  await using s = await devices(true, { clock: () => now });
  const { token } = await s.register("alice");
  // From when registering marked it seen: a slow start (CI's PGlite took over a second) left
  // the clock behind it, and 61 s later was not yet a minute after it.
  now = Date.now();
  await s.devices.authenticate(token);
  await s.devices.authenticate(token);
  assert.equal(s.calls.touchDevices, 0, "registering marked it seen");
  now += 61_000;
  await s.devices.authenticate(token);
  await s.devices.authenticate(token);
  assert.equal(s.calls.touchDevices, 1);
  now += 61_000;
  await s.devices.authenticate(token);
  assert.equal(s.calls.touchDevices, 2);
});

Deno.test("[pglite] device tokens: at most REMEMBERED_TOKENS are remembered, the oldest forgotten first", async () => {
  await using s = await devices(true);
  const tokens: string[] = [];
  for (let i = 0; i <= REMEMBERED_TOKENS; i++) tokens.push((await s.register(`user-${i}`)).token);
  for (const token of tokens) await s.devices.authenticate(token);
  assert.equal(s.calls.findDeviceByTokenHash, REMEMBERED_TOKENS + 1);
  await s.devices.authenticate(tokens.at(-1)!);
  assert.equal(s.calls.findDeviceByTokenHash, REMEMBERED_TOKENS + 1, "the newest is remembered");
  await s.devices.authenticate(tokens[0]);
  assert.equal(s.calls.findDeviceByTokenHash, REMEMBERED_TOKENS + 2, "the oldest was forgotten");
});
