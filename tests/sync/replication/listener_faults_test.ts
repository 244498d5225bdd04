/**
 * Faults of the slot that no retry heals, and streams that die without a word: the
 * listener must say so (state().fault, for /ready and /metrics) or heal them itself.
 */
import assert from "node:assert/strict";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { BROADCAST_CHANNEL } from "../../../sync/events.ts";
import { eventually } from "../../support/eventually.ts";
import {
  dropSlotUnderListener,
  Inbox,
  openReplicationDb,
  testListener,
  writeCommand,
} from "./support.ts";

Deno.test("ReplicationListener reports a slot of the wrong kind as a slot_misconfigured fault while it holds the lock", async () => {
  await using db = await openReplicationDb();
  await db.driver.query("select pg_create_physical_replication_slot($1)", [db.slot]);
  await using l = testListener(db, new MemoryBus());
  await l.start();
  await eventually(() => l.state().fault !== null, 5_000, "a fault");
  const state = l.state();
  assert.equal(state.fault?.kind, "slot_misconfigured");
  assert.match(state.fault?.message ?? "", /not a pgoutput logical slot/);
  assert.equal(state.role, "holder");
  assert.equal(state.streaming, false);
});

Deno.test("ReplicationListener reports a role that may not create the publication as a permission_denied fault", async () => {
  await using db = await openReplicationDb();
  const role = `t_role_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await db.driver.query(`create role ${role} login`);
  const url = new URL(db.url);
  url.username = role;
  try {
    await using l = testListener({ ...db, url: url.toString() }, new MemoryBus());
    await l.start();
    await eventually(() => l.state().fault !== null, 5_000, "a fault");
    assert.equal(l.state().fault?.kind, "permission_denied");
    assert.equal(l.state().streaming, false);
  } finally {
    await db.driver.query(`drop role ${role}`);
  }
});

Deno.test("ReplicationListener recreates a slot dropped under it, tells every hub to catch up, and streams again", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const inbox = await Inbox.open(bus, "alice");
  const broadcasts: unknown[] = [];
  await bus.subscribe(BROADCAST_CHANNEL, (message) => broadcasts.push(JSON.parse(message)));
  await using l = testListener(db, bus);
  await l.start();
  await writeCommand(db, "a", 1);
  await inbox.waitForSeq(1);
  assert.deepEqual(broadcasts, [], "creating the first slot loses nothing");

  await dropSlotUnderListener(db);
  await eventually(() => broadcasts.length > 0, 10_000, "the catch-up broadcast");
  assert.deepEqual(broadcasts, [{ type: "catch_up" }]);
  await writeCommand(db, "b", 2);
  await inbox.waitForSeq(2);
  const state = l.state();
  assert.equal(state.fault, null, "streaming again clears the fault");
  assert.match(state.lastError ?? "", /^slot_missing/);
});

Deno.test("ReplicationListener ends a stream that went silent (its walsender stopped without a word) and streams again", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const inbox = await Inbox.open(bus, "alice");
  // Silence is 3 heartbeats, at least 3 s; a walsender still holding the slot is ended
  // once this instance has held the lock for lockTimeoutMs.
  await using l = testListener(db, bus, { heartbeatMs: 300, lockTimeoutMs: 1_000 });
  await l.start();
  await writeCommand(db, "a", 1);
  await inbox.waitForSeq(1);
  const [{ pid }] = await db.driver.query<{ pid: number }>(
    "select active_pid as pid from pg_replication_slots where slot_name = $1",
    [db.slot],
  );
  Deno.kill(pid, "SIGSTOP");
  try {
    await eventually(() => /silent/.test(l.state().lastError ?? ""), 10_000, "the silence noticed");
  } finally {
    // A stopped process handles the SIGTERM it was sent only once continued.
    Deno.kill(pid, "SIGCONT");
  }
  await writeCommand(db, "b", 2);
  await inbox.waitForSeq(2);
  assert.equal(l.state().role, "holder");
});
