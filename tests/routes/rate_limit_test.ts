import assert from "node:assert/strict";
import type { RateLimiting } from "../../routes/rate_limit.ts";
import { SILENT_LOGGER } from "../../sync/logger.ts";
import { type KvConnection, openKvConnection } from "../../sync/kv_connection.ts";
import { openLimiter } from "../../sync/rate_limit/open_limiter.ts";
import { type RateLimitsOverride, withOverride } from "../../sync/rate_limit/tier_rate_limits.ts";
import { addressKey, deviceKey, userKey } from "../../sync/redis_keys.ts";
import { openTestApp, type TestApp } from "../support/app.ts";
import { command } from "../support/changes.ts";
import { type DriverKind, withDrivers } from "../support/drivers.ts";
import { testRedisUrl } from "../support/services.ts";

/**
 * The app with rate limits as service.ts wires them: embedded → this process's memory,
 * Postgres → the test Redis (keys are per random user, so runs never share budgets).
 */
async function limitedApp(
  kind: DriverKind,
  override: RateLimitsOverride = {},
  extra: Partial<RateLimiting> = {},
): Promise<
  TestApp & { limited: [string, string][]; counted(key: string): Promise<string | null> }
> {
  const kv: KvConnection = await openKvConnection(
    kind === "postgres" ? { REDIS_URL: testRedisUrl() } : {},
    SILENT_LOGGER,
  );
  const limited: [string, string][] = [];
  const t = await openTestApp(kind, {
    rateLimiting: {
      limiter: await openLimiter(kv),
      limits: withOverride(override),
      authFailuresPerMinute: 30,
      onLimited: (route, scope) => limited.push([route, scope]),
      ...extra,
    },
  });
  const dispose = t[Symbol.asyncDispose].bind(t);
  return Object.assign(t, {
    limited,
    /** The count Redis holds under `key` (null in memory: embedded). */
    counted: (key: string) => kv.kind === "redis" ? kv.client.get(key) : Promise.resolve(null),
    async [Symbol.asyncDispose]() {
      await dispose();
      await kv.close();
    },
  });
}

const user = (name: string) => `${name}-${crypto.randomUUID()}`;

withDrivers("rate limits", (_open, kind) => {
  Deno.test({
    name: "a free device hammering pulls gets 429 at request 121 with Retry-After and RateLimit",
    fn: async () => {
      await using t = await limitedApp(kind);
      const d = await t.device(user("hammer"), "phone", "free");
      let first429 = 0;
      let refused: Response | undefined;
      for (let i = 1; i <= 300 && !refused; i++) {
        const res = await t.request("GET", "/api/sync/data", { token: d.token });
        if (res.status === 429) [first429, refused] = [i, res];
        else await res.body?.cancel();
      }
      assert.equal(first429, 121);
      const body = await refused!.json();
      assert.equal(body.error.code, "SYNC_RATE_LIMITED");
      assert.deepEqual(
        [body.error.details.scope, body.error.details.limit, body.error.details.window_seconds],
        ["device", 120, 60],
      );
      const retryAfter = Number(refused!.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal(
        refused!.headers.get("ratelimit-policy"),
        `"device";q=120;w=60, "user";q=240;w=60`,
      );
      assert.match(
        refused!.headers.get("ratelimit")!,
        /^"device";r=0;t=\d+, "user";r=118;t=\d+$/,
      );
      assert.deepEqual(t.limited, [["/api/sync/data", "device"]]);
    },
  });

  Deno.test({
    name: "every answer carries the remaining budget, errors from the handler included",
    fn: async () => {
      await using t = await limitedApp(kind);
      const owner = user("headers");
      const d = await t.device(owner, "phone", "pro");
      const ok = await t.request("GET", "/api/sync/stats", { token: d.token });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("ratelimit-policy"), `"device";q=1200;w=60, "user";q=4800;w=60`);
      // The registration counted against the user too.
      assert.match(ok.headers.get("ratelimit")!, /^"device";r=1199;t=\d+, "user";r=4798;t=\d+$/);
      const bad = await t.request("GET", "/api/sync/data?since=nope", { token: d.token });
      assert.equal(bad.status, 422);
      assert.match(bad.headers.get("ratelimit")!, /^"device";r=1198;t=\d+, "user";r=4797;t=\d+$/);
      if (kind === "postgres") {
        // In Redis under the user's hash tag, the device's key beside the user's.
        assert.equal(await t.counted(deviceKey(owner, d.id, "rate")), "2");
        assert.equal(await t.counted(userKey(owner, "rate")), "3");
      }
    },
  });

  Deno.test({
    name: "ten pro devices syncing every 3 s for a minute never see a 429",
    fn: async () => {
      await using t = await limitedApp(kind);
      const owner = user("fleet");
      const devices = [];
      for (let i = 0; i < 10; i++) devices.push(await t.device(owner, `d${i}`, "pro"));
      // A minute of syncing every 3 s (20 rounds of push + pull per device), sent at once:
      // harder on a fixed window than the same requests spread over the minute.
      const statuses = new Set<number>();
      for (let round = 0; round < 20; round++) {
        await Promise.all(devices.map(async (d, i) => {
          const push = await t.request("POST", "/api/sync/data", {
            token: d.token,
            body: { changes: [command(`echo ${round}-${i}`)] },
          });
          const pull = await t.request("GET", "/api/sync/data", { token: d.token });
          statuses.add(push.status).add(pull.status);
          await Promise.all([push.body?.cancel(), pull.body?.cancel()]);
        }));
      }
      assert.deepEqual([...statuses], [200]);
      assert.deepEqual(t.limited, []);
    },
  });

  Deno.test({
    name: "two free devices syncing every 3 s for a minute never see a 429",
    fn: async () => {
      await using t = await limitedApp(kind);
      const owner = user("pair");
      const devices = [await t.device(owner, "a", "free"), await t.device(owner, "b", "free")];
      const statuses = new Set<number>();
      for (let round = 0; round < 20; round++) {
        for (const d of devices) {
          for (const path of ["/api/sync/data", "/api/sync/stats"]) {
            const res = await t.request("GET", path, { token: d.token });
            statuses.add(res.status);
            await res.body?.cancel();
          }
        }
      }
      assert.deepEqual([...statuses], [200]);
    },
  });

  Deno.test({
    name: "account-token routes count against the user's budget",
    fn: async () => {
      await using t = await limitedApp(kind, { free: { user: 5 } });
      const token = await t.accountToken(user("account"), "free");
      const statuses = [];
      for (let i = 0; i < 7; i++) {
        const res = await t.request("GET", "/api/devices", { token });
        statuses.push(res.status);
        if (i === 0) assert.equal(res.headers.get("ratelimit-policy"), `"user";q=5;w=60`);
        await res.body?.cancel();
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      assert.deepEqual(t.limited[0], ["/api/devices", "user"]);
    },
  });

  Deno.test({
    name: "an address sending bad tokens is refused with 429 before authentication",
    fn: async () => {
      await using t = await limitedApp(kind, {}, {
        authFailuresPerMinute: 3,
        clientIpHeader: "x-forwarded-for",
      });
      // The proxy's entry (the last) is the address; what the client wrote before it is not.
      const headers = { "x-forwarded-for": `6.6.6.6, 10.${Math.floor(Math.random() * 1e6)}` };
      const good = await t.device(user("victim"), "phone", "pro");
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        const res = await t.request("GET", "/api/sync/data", {
          token: `dpd_forged${i}`,
          headers: { ...headers, "x-forwarded-for": `${i}.1.1.1, ${headers["x-forwarded-for"]}` },
        });
        statuses.push(res.status);
        await res.body?.cancel();
      }
      // Three within budget, the fourth is over it; from then on the address is refused,
      // whatever token it sends, until the window resets.
      const after = await t.request("GET", "/api/sync/data", { token: good.token, headers });
      const elsewhere = await t.request("GET", "/api/sync/data", { token: good.token });
      assert.equal(elsewhere.status, 200);
      await elsewhere.body?.cancel();
      statuses.push(after.status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 429]);
      assert.equal((await after.json()).error.details.scope, "ip");
      if (kind === "postgres") {
        const address = headers["x-forwarded-for"].split(", ").at(-1)!;
        assert.equal(await t.counted(addressKey(address, "auth")), "4");
      }
      assert.ok(Number(after.headers.get("retry-after")) >= 1);
    },
  });
});
