/**
 * A Redis outage end to end: two instances on one real Postgres (wal_level=logical) and a
 * Redis of this test's own, killed and restarted on the same port.
 * While Redis is down pushes still commit, the listener holds its confirmation and
 * retries; once Redis is back it publishes what it held, every instance is subscribed
 * again, and the sockets that stayed open learn of every change.
 */
import assert from "node:assert/strict";
import { parseLsn } from "../../sync/replication/lsn.ts";
import { eventually, sleep } from "../support/eventually.ts";
import type { Instance } from "../support/instance.ts";
import { type ReplicationDb, walEnd } from "../sync/replication/support.ts";
import { openCluster } from "./cluster.ts";
import {
  closedWithin,
  pullAll,
  push,
  type Pushed,
  randomUser,
  register,
  seq,
  watch,
} from "./devices.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp_proxy.ts";

/** How long the devices may wait for their hint once Redis answers again. */
const RECOVERY_DEADLINE_MS = 15_000;

/** The slot's confirmed_flush_lsn, as a number that compares like the byte position. */
async function confirmedFlush(db: ReplicationDb): Promise<bigint> {
  const [row] = await db.driver.query<{ lsn: string }>(
    "select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1",
    [db.slot],
  );
  assert.ok(row?.lsn, `slot ${db.slot} has a confirmed_flush_lsn`);
  return parseLsn(row.lsn);
}

async function ready(at: Instance): Promise<{ status: number; bus: boolean }> {
  const res = await at.request("GET", "/ready");
  const body = await res.json() as { bus: { ok: boolean } };
  return { status: res.status, bus: body.bus.ok };
}

Deno.test("e2e: while Redis is down pushes commit and the slot holds; once it is back the open sockets hear of every change", async () => {
  await using c = await openCluster({ redis: "private" });
  const redis = c.redis!;
  assert.equal(c.a.listener?.state().role, "holder", "A started first and holds the slot");
  assert.equal(c.b.listener?.state().role, "standby");

  const user = randomUser();
  const phone = await register(c.b, user, "phone");
  const laptop = await register(c.a, user, "laptop");
  const desktop = await register(c.b, user, "desktop");
  await using onA = await watch(c.a, laptop);
  await using onB = await watch(c.b, desktop);
  // The pipeline streams before the outage; the laptop has applied up to here.
  const before = await push(c.b, phone);
  await onA.waitFor(before.cursor);
  await onB.waitFor(before.cursor);
  const heardBefore = { a: onA.hints.length, b: onB.hints.length };

  await redis.stop();
  const stoppedAt = Date.now();
  for (const at of [c.a, c.b]) {
    await eventually(async () => (await ready(at)).bus === false, 5_000, "/ready without the bus");
    assert.deepEqual(await ready(at), { status: 503, bus: false });
  }

  // Commits do not depend on Redis: every push is answered, every change applied.
  const outage: Pushed[] = [];
  outage.push(await push(c.b, phone, { commands: 2 }));
  const afterFirst = await walEnd(c.db.driver);
  // The listener met the first commit and could not publish it.
  await eventually(
    () => /publish_failed/.test(c.a.listener?.state().lastError ?? ""),
    5_000,
    "the listener's failed publish",
  );
  const held = await confirmedFlush(c.db);
  assert.ok(held < afterFirst, "the slot confirmed nothing of the first commit");
  outage.push(await push(c.b, phone, { commands: 1, profile: true }));
  outage.push(await push(c.b, phone, { commands: 0, profile: true }));
  outage.push(await push(c.b, phone, { commands: 3 }));
  const afterLast = await walEnd(c.db.driver);
  for (let i = 1; i < outage.length; i++) {
    assert.ok(seq(outage[i].cursor) > seq(outage[i - 1].cursor), "push cursors increase");
  }

  // The listener retries the whole time (backoff 250-500 ms here) and confirms nothing.
  for (let i = 0; i < 6; i++) {
    await sleep(250);
    assert.equal(await confirmedFlush(c.db), held, "confirmed_flush_lsn holds during the outage");
  }
  assert.equal(c.a.listener?.state().role, "holder");
  assert.deepEqual(await ready(c.a), { status: 503, bus: false });
  assert.deepEqual(await ready(c.b), { status: 503, bus: false });
  assert.equal(onA.hints.length, heardBefore.a, "no hint without Redis");
  assert.equal(onB.hints.length, heardBefore.b, "no hint without Redis");
  // The hub keeps the sockets open: the devices are not told to reconnect.
  for (const w of [onA, onB]) assert.equal(w.ws.socket.readyState, WebSocket.OPEN);

  await redis.start();
  const restartedAt = Date.now();
  console.log(`Redis down for ${restartedAt - stoppedAt} ms`);
  const head = outage.at(-1)!.cursor;
  for (const [who, w] of [["socket on A", onA], ["socket on B", onB]] as const) {
    const hint = await w.waitFor(head, RECOVERY_DEADLINE_MS);
    console.log(`${who}: head hint ${Date.now() - restartedAt} ms after Redis restarted`);
    assert.equal(hint.cursor, head, `${who}: the hint names the head, nothing invented`);
    assert.equal(hint.origin, phone.id, `${who}: the phone made every change`);
    assert.equal(w.ws.socket.readyState, WebSocket.OPEN, `${who}: still open`);
  }
  // Everything the hints of the outage name is one of its pushes.
  const cursors = new Set(outage.map((p) => p.cursor));
  for (const hint of [...onA.hints.slice(heardBefore.a), ...onB.hints.slice(heardBefore.b)]) {
    assert.ok(cursors.has(hint.cursor), `hint ${hint.cursor} is no push of the outage`);
  }

  // The listener published what it held, and only then confirmed past it.
  await eventually(
    async () => await confirmedFlush(c.db) >= afterLast,
    RECOVERY_DEADLINE_MS,
    "confirmed_flush_lsn past the outage's commits",
  );
  for (const at of [c.a, c.b]) {
    await eventually(async () => (await ready(at)).status === 200, 5_000, "/ready again");
  }

  // The laptop pulls from its old cursor: every change of the outage, in push order.
  const pulled = await pullAll(c.a, laptop, before.cursor);
  assert.deepEqual(pulled.keys, outage.flatMap((p) => p.keys));
  assert.equal(pulled.cursor, head);
  for (let i = 1; i < pulled.cursors.length; i++) {
    assert.ok(seq(pulled.cursors[i]) > seq(pulled.cursors[i - 1]), "pulled cursors increase");
  }
  assert.ok(seq(pulled.cursors[0]) > seq(before.cursor));

  // And live events flow again on both instances.
  const after = await push(c.b, phone);
  await onA.waitFor(after.cursor);
  await onB.waitFor(after.cursor);
});

Deno.test("e2e: an instance cut off from Redis closes, once back, the sockets whose device was deleted or registered again meanwhile", async () => {
  let proxy: TcpProxy | undefined;
  await using c = await openCluster({
    // B reaches Redis through a proxy the test can cut; A (the holder) does not.
    redisUrlOfB: (url) => {
      const { hostname, port } = new URL(url);
      proxy = startTcpProxy({ hostname, port: Number(port) });
      return `redis://127.0.0.1:${proxy.port}`;
    },
  });
  await using cutter = proxy!;
  assert.equal(c.a.listener?.state().role, "holder");
  const user = randomUser();
  const phone = await register(c.a, user, "phone", "phone-install");
  const tablet = await register(c.a, user, "tablet");
  const laptop = await register(c.a, user, "laptop");
  const desktop = await register(c.a, user, "desktop");
  await using phoneOnB = await watch(c.b, phone);
  await using tabletOnB = await watch(c.b, tablet);
  await using laptopOnB = await watch(c.b, laptop);
  const before = await push(c.a, desktop);
  await laptopOnB.waitFor(before.cursor);

  cutter.cut();
  await eventually(async () => (await ready(c.b)).bus === false, 5_000, "B without Redis");
  // While B is away: the phone registers again (a new token), the tablet is deleted, and a
  // change commits. The holder publishes all of it; none of it reaches B.
  const again = await register(c.a, user, "phone", "phone-install");
  assert.equal(again.id, phone.id, "the same device, with a new token");
  const deleted = await c.a.request("DELETE", `/api/devices/${tablet.id}`, {
    token: desktop.token,
  });
  assert.equal(deleted.status, 204);
  const during = await push(c.a, desktop);
  const published = await walEnd(c.db.driver);
  await eventually(
    async () => await confirmedFlush(c.db) >= published,
    10_000,
    "the holder published the outage's events",
  );
  for (const w of [phoneOnB, tabletOnB]) assert.equal(w.ws.socket.readyState, WebSocket.OPEN);

  cutter.restore();
  assert.equal((await closedWithin(phoneOnB.ws, 15_000)).code, 4401, "the replaced token");
  assert.equal((await closedWithin(tabletOnB.ws, 15_000)).code, 4401, "the deleted device");
  // The socket whose token still works stays open and is told what it missed.
  await laptopOnB.waitFor(during.cursor, 15_000);
  assert.equal(laptopOnB.ws.socket.readyState, WebSocket.OPEN);
  await using phoneAgain = await watch(c.b, again);
  assert.equal(phoneAgain.ws.socket.readyState, WebSocket.OPEN);
});
