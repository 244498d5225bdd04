/**
 * The real-time pipeline end to end, as deployed: several app instances on one real
 * Postgres (wal_level=logical) and one real Redis, over HTTP and WebSocket.
 * push (instance X) → commit → WAL → the slot holder's listener → Redis → hub (instance Y) → socket.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import type { Instance } from "../support/instance.ts";
import { connectWs } from "../support/ws_client.ts";
import { openCluster } from "./cluster.ts";
import {
  assertNoSkip,
  closedWithin,
  type Device,
  pullAll,
  push,
  type Pushed,
  randomUser,
  register,
  seq,
  watch,
} from "./devices.ts";

/** Pushes through the given instances in turn until `stop()`; every answer is kept. */
function pushLoop(instances: Instance[], device: Device, gapMs = 15) {
  const pushed: (Pushed & { at: number })[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const result = await push(instances[i % instances.length], device, {
        commands: 1 + (i % 3),
        profile: i % 4 === 0,
      });
      pushed.push({ ...result, at: Date.now() });
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  })();
  // A failed push ends the loop; `stop()` rethrows it, and until then it is no unhandled rejection.
  done.catch(() => running = false);
  return {
    pushed,
    async stop() {
      running = false;
      await done;
    },
  };
}

function maxCursor(pushed: Pushed[]): string {
  return pushed.reduce((best, p) => seq(p.cursor) > seq(best.cursor) ? p : best).cursor;
}

Deno.test("e2e: a push through one instance reaches the user's sockets on the other, with the push's cursor", async () => {
  await using c = await openCluster();
  const user = randomUser();
  const phone = await register(c.b, user, "phone");
  const laptop = await register(c.a, user, "laptop");
  await using onA = await watch(c.a, laptop);
  await using onB = await watch(c.b, phone);

  const first = await push(c.b, phone, { commands: 2 });
  const second = await push(c.b, phone, { commands: 1, profile: true });
  await onA.waitFor(second.cursor);
  assert.deepEqual(onA.hints.map(({ at: _, ...h }) => h), [
    { cursor: first.cursor, collections: ["commands"], origin: phone.id },
    { cursor: second.cursor, collections: ["commands", "ssh_profiles"], origin: phone.id },
  ]);

  // And the other way round; neither device hears of its own pushes.
  const back = await push(c.a, laptop, { profile: true, commands: 0 });
  await onB.waitFor(back.cursor);
  assert.deepEqual(onB.hints.map(({ at: _, ...h }) => h), [
    { cursor: back.cursor, collections: ["ssh_profiles"], origin: laptop.id },
  ]);
  onA.ws.send({ type: "ping" });
  await eventually(() => onA.messages.filter((m) => m.type === "pong").length === 2);
  assert.equal(onA.hints.length, 2);
});

Deno.test("e2e: when the slot holder dies mid-stream, the standby takes over and no change is lost", async () => {
  await using c = await openCluster();
  assert.equal(c.holders().length, 1, "exactly one instance holds the slot");
  const [holder] = c.holders();
  const standby = holder === c.a ? c.b : c.a;
  assert.equal(standby.listener?.state().role, "standby");

  const user = randomUser();
  const phone = await register(c.a, user, "phone");
  const laptop = await register(c.a, user, "laptop");
  const desktop = await register(c.b, user, "desktop");
  await using onA = await watch(c.a, laptop);
  await using onB = await watch(c.b, desktop);
  // The holder streams before the loop starts, so the kill lands mid-stream.
  const warmUp = await push(c.b, phone);
  await onA.waitFor(warmUp.cursor);

  const loop = pushLoop([c.a, c.b], phone);
  try {
    await eventually(() => loop.pushed.length >= 8, 10_000, "pushes before the kill");
    // Not at a push's answer but a moment later, while its transaction is being published:
    // the case a holder that confirmed before publishing would lose.
    await new Promise((resolve) => setTimeout(resolve, 40));
    const killedAt = Date.now();
    // At least the lock session; the walsender may already have ended its stream.
    assert.ok(await holder.killListener() >= 1, "the holder's sessions were terminated");
    await eventually(() => standby.listener?.state().role === "holder", 5_000, "takeover");
    const takeoverAt = Date.now();
    console.log(`takeover after ${takeoverAt - killedAt} ms`);
    assert.ok(takeoverAt - killedAt < 5_000);
    await eventually(
      () => loop.pushed.filter((p) => p.at > takeoverAt).length >= 8,
      10_000,
      "pushes after the takeover",
    );
  } finally {
    await loop.stop();
  }

  const pushed = [warmUp, ...loop.pushed];
  const last = maxCursor(pushed);
  for (const [who, w] of [["socket on A", onA], ["socket on B", onB]] as const) {
    await w.waitFor(last);
    assertNoSkip(w.hints, pushed, who);
    console.log(`${who}: ${w.hints.length} hints for ${pushed.length} pushes`);
  }
  // No change lost: a device pulling from scratch gets every pushed item once.
  const pulled = await pullAll(c.b, laptop);
  assert.deepEqual([...pulled.keys].sort(), pushed.flatMap((p) => p.keys).sort());
  assert.equal(pulled.cursor, last);
  assert.deepEqual(c.holders(), [standby]);

  // /ready follows: the new holder is ready, the instance whose listener died is not.
  const ready = await (await standby.request("GET", "/ready")).json();
  assert.equal(ready.listener.role, "holder");
  const dead = await holder.request("GET", "/ready");
  assert.equal(dead.status, 503);
  assert.equal((await dead.json()).listener.role, "stopped");
});

Deno.test("e2e: restarting the listener mid-stream repeats events but never skips one", async () => {
  // B is an API-only instance: A's listener is the only one, so each restart resumes the slot.
  await using c = await openCluster({ b: "api" });
  assert.deepEqual(c.holders(), [c.a]);
  assert.equal(c.b.listener, null);
  const user = randomUser();
  const phone = await register(c.b, user, "phone");
  const tablet = await register(c.a, user, "tablet");
  const laptop = await register(c.a, user, "laptop");
  const desktop = await register(c.b, user, "desktop");
  await using onA = await watch(c.a, laptop);
  await using onB = await watch(c.b, desktop);

  const loops = [pushLoop([c.b], phone, 10), pushLoop([c.a], tablet, 10)];
  const count = () => loops.reduce((n, l) => n + l.pushed.length, 0);
  try {
    // A clean stop, a death, a clean stop: each time a new listener resumes the slot.
    for (const end of ["stop", "kill", "stop"] as const) {
      const before = count();
      await eventually(() => count() >= before + 6, 10_000, "pushes between restarts");
      if (end === "stop") await c.a.stopListener();
      else await c.a.killListener();
      // Written while nobody streams: the slot keeps them.
      await eventually(() => count() >= before + 10, 10_000, "pushes while stopped");
      const listener = await c.a.startListener();
      assert.equal(listener.state().role, "holder");
    }
    const before = count();
    await eventually(() => count() >= before + 6, 10_000, "pushes after the restarts");
  } finally {
    await Promise.all(loops.map((l) => l.stop()));
  }

  const pushed = loops.flatMap((l) => l.pushed);
  const last = maxCursor(pushed);
  for (const [who, w] of [["socket on A", onA], ["socket on B", onB]] as const) {
    await w.waitFor(last);
    // Give a late repeat the chance to arrive after the head, where it would show.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertNoSkip(w.hints, pushed, who);
    assert.equal(w.hints.at(-1)?.cursor, last, `${who}: the last hint is the head`);
    const repeats = w.hints.length - new Set(w.hints.map((h) => h.cursor)).size;
    console.log(`${who}: ${w.hints.length} hints for ${pushed.length} pushes, ${repeats} repeats`);
  }
  const pulled = await pullAll(c.a, laptop);
  assert.deepEqual([...pulled.keys].sort(), pushed.flatMap((p) => p.keys).sort());
});

Deno.test("e2e: a device reconnecting with an old cursor is told the head at once and pulls exactly what it missed", async () => {
  await using c = await openCluster();
  const user = randomUser();
  const phone = await register(c.a, user, "phone");
  const laptop = await register(c.a, user, "laptop");
  // Stays on A throughout: once it has the head's live hint, A has delivered every earlier
  // one (a channel's events arrive in order), which a loaded listener may deliver late.
  await using tablet = await watch(c.a, await register(c.a, user, "tablet"));

  const seen = await push(c.b, phone);
  {
    await using onA = await watch(c.a, laptop);
    await onA.waitFor(seen.cursor);
  }
  // While the laptop is away, through both instances.
  const missed = [
    await push(c.b, phone, { commands: 2 }),
    await push(c.a, phone, { commands: 0, profile: true }),
    await push(c.b, phone, { commands: 1 }),
  ];
  const head = missed.at(-1)!.cursor;

  await using onB = await watch(c.b, laptop, seen.cursor);
  // The hint came before the pong that answered the ping sent after hello.
  assert.deepEqual(onB.messages.slice(0, 2), [
    {
      type: "sync_data_available",
      cursor: head,
      collections: ["commands", "ssh_profiles"],
      origin_device_id: phone.id,
    },
    { type: "pong" },
  ]);

  const pulled = await pullAll(c.b, laptop, seen.cursor);
  assert.deepEqual(pulled.keys.sort(), missed.flatMap((p) => p.keys).sort());
  assert.ok(pulled.cursors.every((cursor) => seq(cursor) > seq(seen.cursor)));
  assert.equal(pulled.cursor, head);
  // At the head, hello is answered by nothing but the pong.
  await tablet.waitFor(head);
  await using atHead = await watch(c.a, laptop, head);
  assert.deepEqual(atHead.messages, [{ type: "pong" }]);
});

Deno.test("e2e: deleting a device through one instance closes its socket on the other with 4401", async () => {
  await using c = await openCluster();
  const user = randomUser();
  const phone = await register(c.a, user, "phone");
  const laptop = await register(c.b, user, "laptop");
  await using onB = await watch(c.b, laptop);
  await using phoneOnA = await watch(c.a, phone);
  await eventually(
    () =>
      onB.messages.some((m) =>
        m.type === "device_status" && m.device_id === phone.id && m.status === "online"
      ),
    10_000,
    "the phone online",
  );

  const res = await c.b.request("DELETE", `/api/devices/${phone.id}`, { token: laptop.token });
  assert.equal(res.status, 204);
  assert.equal((await closedWithin(phoneOnA.ws, 10_000)).code, 4401);
  await eventually(
    () =>
      onB.messages.some((m) =>
        m.type === "device_status" && m.device_id === phone.id && m.status === "revoked"
      ),
    10_000,
    "the phone revoked",
  );
  // Its token now fails on both instances.
  const pull = await c.a.request("GET", "/api/sync/data", { token: phone.token });
  assert.equal(pull.status, 401);
  await pull.body?.cancel();
  await using again = await connectWs(c.b.url, phone.token);
  assert.equal((await closedWithin(again, 5_000)).code, 4401);
});

Deno.test("e2e: registering a device's install_id again through one instance closes its old token's socket on the other with 4401", async () => {
  await using c = await openCluster();
  const user = randomUser();
  const phone = await register(c.a, user, "phone", "phone-install");
  const laptop = await register(c.b, user, "laptop");
  await using oldOnB = await watch(c.b, phone);
  await using laptopOnB = await watch(c.b, laptop);

  const again = await register(c.a, user, "phone", "phone-install");
  assert.equal(again.id, phone.id, "the same device, with a new token");
  assert.equal((await closedWithin(oldOnB.ws, 10_000)).code, 4401);
  // The new token opens a socket on either instance, and hears the laptop's pushes.
  await using newOnB = await watch(c.b, again);
  await using newOnA = await watch(c.a, again);
  const pushed = await push(c.a, laptop);
  await newOnB.waitFor(pushed.cursor);
  await newOnA.waitFor(pushed.cursor);
  assert.equal(laptopOnB.ws.socket.readyState, WebSocket.OPEN);
  const pull = await c.b.request("GET", "/api/sync/data", { token: phone.token });
  assert.equal(pull.status, 401);
  await pull.body?.cancel();
});
