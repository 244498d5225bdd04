/**
 * Team sync end to end, as deployed: two instances on one real Postgres (wal_level=logical)
 * and one real Redis. A team's items travel WAL → listener → `sync:team:<id>` → every
 * instance with a member's socket; a change of a user's team travels as the `users`
 * trigger's message → `sync:user:<id>` → that user's sockets, wherever they are.
 */
import assert from "node:assert/strict";
import { mintAccountToken } from "../../sync/account_tokens.ts";
import { encodePosition } from "../../sync/cursor.ts";
import { TEST_SECRET } from "../support/app.ts";
import { eventually } from "../support/eventually.ts";
import type { Instance } from "../support/instance.ts";
import { profile, teamChange } from "../support/teams.ts";
import { connectWs } from "../support/ws_client.ts";
import { openCluster } from "./cluster.ts";
import { closedWithin, type Device, randomUser, watch } from "./devices.ts";

let iat = Math.floor(Date.now() / 1000) - 300;

/** An account token naming `team` (null: none), newer than every one minted before. */
function accountToken(userId: string, team: string | null, role: "admin" | "member") {
  return mintAccountToken(TEST_SECRET, {
    userId,
    tier: "team",
    expiresInSeconds: 3600,
    issuedAt: ++iat,
    ...(team !== null && { teamId: team, teamRole: role }),
  });
}

async function registerIn(
  at: Instance,
  userId: string,
  team: string,
  role: "admin" | "member",
): Promise<Device> {
  const res = await at.request("POST", "/api/devices/register", {
    token: await accountToken(userId, team, role),
    body: { name: `${role} device`, platform: "ios" },
  });
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  return { id: body.device.id, token: body.token };
}

async function push(at: Instance, device: Device, changes: unknown[]) {
  const res = await at.request("POST", "/api/sync/data", {
    token: device.token,
    body: { changes },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as {
    results: { status: string; error?: { code: string } }[];
    cursor: string;
  };
}

async function pull(at: Instance, device: Device, since?: string) {
  return await at.request("GET", `/api/sync/data?limit=1000${since ? `&since=${since}` : ""}`, {
    token: device.token,
  });
}

Deno.test("e2e: a team admin's profile pushed through one instance reaches a member's socket on the other; a member's write is refused", async () => {
  await using c = await openCluster();
  const team = `team-${crypto.randomUUID()}`;
  const adminId = randomUser();
  const admin = await registerIn(c.a, adminId, team, "admin");
  const member = await registerIn(c.b, randomUser(), team, "member");
  await using onB = await watch(c.b, member);

  const pushed = await push(c.a, admin, [teamChange("db", profile("db"))]);
  assert.equal(pushed.results[0].status, "applied");
  assert.equal(pushed.cursor, encodePosition({ user: 0, team: 1 }, team));
  await eventually(() => onB.hints.length > 0, 10_000, "the team's hint on B");
  assert.deepEqual(onB.hints.map(({ at: _, ...h }) => h), [
    { cursor: pushed.cursor, collections: ["team_ssh_profiles"], origin: admin.id },
  ]);

  const refused = await push(c.b, member, [teamChange("db", profile("x"), { base_version: 1 })]);
  assert.equal(refused.results[0].error?.code, "FORBIDDEN");
  const page = await (await pull(c.b, member)).json();
  assert.deepEqual(
    page.changes.map((
      ch: { id: string; version: number; author: string },
    ) => [ch.id, ch.version, ch.author]),
    [["db", 1, adminId]],
  );
  assert.equal(page.cursor, pushed.cursor);
  // The refused write published nothing: the only hint is still the admin's.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(onB.hints.length, 1);
});

Deno.test("e2e: leaving the team closes the member's socket on the other instance; its next pull is 410 and a pull from scratch holds none of the team's items", async () => {
  await using c = await openCluster();
  const team = `team-${crypto.randomUUID()}`;
  const admin = await registerIn(c.a, randomUser(), team, "admin");
  const memberId = randomUser();
  const member = await registerIn(c.b, memberId, team, "member");
  {
    // The team's hint has reached B before the socket under test opens: it would come
    // ahead of the pong below.
    await using early = await watch(c.b, member);
    await push(c.a, admin, [teamChange("db", profile("db")), teamChange("web", profile("web"))]);
    await eventually(() => early.hints.length > 0, 10_000, "the team's hint on B");
  }
  await push(c.b, member, [{
    change_id: crypto.randomUUID(),
    collection: "settings",
    id: "ui",
    op: "upsert",
    data: { theme: "dark" },
    base_version: null,
    modified_at: Date.now(),
  }]);
  const before = await (await pull(c.b, member)).json();
  assert.equal(before.changes.length, 3);
  const ws = await connectWs(c.b.url, member.token);
  ws.send({ type: "hello", cursor: before.cursor });
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(5_000), { type: "pong" });

  // The identity provider's newer token, seen by the other instance.
  const left = await c.a.request("GET", "/api/devices", {
    token: await accountToken(memberId, null, "member"),
  });
  assert.equal(left.status, 200);
  await left.body?.cancel();
  assert.deepEqual(await closedWithin(ws, 10_000), {
    code: 1012,
    reason: "Team changed: reconnect",
  });

  await using back = await connectWs(c.b.url, member.token);
  back.send({ type: "hello", cursor: before.cursor });
  const hint = await back.next(5_000);
  assert.equal(hint.type, "sync_data_available");
  const expired = await pull(c.b, member, before.cursor);
  assert.equal(expired.status, 410);
  assert.equal((await expired.json()).error.code, "SYNC_CURSOR_EXPIRED");
  const scratch = await (await pull(c.a, member)).json();
  assert.deepEqual(scratch.changes.map((ch: { collection: string }) => ch.collection), [
    "settings",
  ]);
  // The team's later changes no longer reach the device.
  await push(c.a, admin, [teamChange("mail", profile("mail"))]);
  await back.quiet(500);
});
