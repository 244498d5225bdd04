import assert from "node:assert/strict";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { encodeCursor } from "../../../sync/cursor.ts";
import { eventually, sleep } from "../../support/eventually.ts";
import { formatLsn } from "../../../sync/replication/lsn.ts";
import { Inbox, openReplicationDb, testListener, walEnd, writeItems } from "./support.ts";

const DEVICE_A = "00000000-0000-4000-8000-00000000000a";

Deno.test("ReplicationListener sends one event per transaction per user, with the highest cursor", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const inbox = await Inbox.open(bus, "alice");
  await using l = testListener(db, bus);
  await l.start();
  assert.equal(l.state().role, "holder");

  await writeItems(db.driver, [
    { user: "alice", collection: "settings", id: "ui", seq: 1, device: DEVICE_A },
    { user: "alice", collection: "commands", id: "c1", seq: 2, device: DEVICE_A },
    { user: "alice", collection: "commands", id: "c2", seq: 3, device: DEVICE_A },
  ]);
  await inbox.waitForSeq(3);
  await sleep(200);
  assert.deepEqual(inbox.events, [{
    type: "changes",
    cursor: encodeCursor(3),
    collections: ["commands", "settings"],
    origin_device_id: DEVICE_A,
  }]);
});

Deno.test("ReplicationListener sends one event to each user of a transaction", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const alice = await Inbox.open(bus, "alice");
  const bob = await Inbox.open(bus, "bob");
  await using l = testListener(db, bus);
  await l.start();

  await writeItems(db.driver, [
    { user: "alice", collection: "commands", id: "c1", seq: 7, device: DEVICE_A },
    { user: "bob", collection: "ssh_keys", id: "k1", seq: 4 },
    { user: "alice", collection: "commands", id: "c2", seq: 8, device: DEVICE_A },
  ]);
  await alice.waitForSeq(8);
  await bob.waitForSeq(4);
  await sleep(200);
  assert.deepEqual(alice.cursors(), [encodeCursor(8)]);
  assert.deepEqual(bob.events, [{
    type: "changes",
    cursor: encodeCursor(4),
    collections: ["ssh_keys"],
    origin_device_id: null,
  }]);
});

Deno.test("ReplicationListener reports conflicts and revoked devices, and not compaction deletes", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const alice = await Inbox.open(bus, "alice");
  await using l = testListener(db, bus);
  await l.start();

  await db.driver.query("insert into users (user_id) values ('alice')");
  await db.driver.query(
    `insert into devices (id, user_id, name, platform, token_hash)
     values ($1, 'alice', 'laptop', 'macos', 'h1')`,
    [DEVICE_A],
  );
  await writeItems(db.driver, [{ user: "alice", collection: "commands", id: "c1", seq: 1 }]);
  await alice.waitForSeq(1);
  const conflictId = crypto.randomUUID();
  await db.driver.transaction(async (tx) => {
    await tx.query("delete from items where user_id = 'alice'");
    await tx.query(
      `insert into conflicts (id, user_id, collection, item_id, strategy, local, remote)
       values ($1, 'alice', 'ssh_profiles', 'p1', 'manual', '{}', '{}')`,
      [conflictId],
    );
  });
  await db.driver.query("delete from devices where id = $1", [DEVICE_A]);
  await eventually(() => alice.events.length >= 3, 10_000, "conflict and device events");
  await sleep(200);
  assert.deepEqual(alice.events.slice(1), [
    { type: "conflict", conflict_id: conflictId, collection: "ssh_profiles", item_id: "p1" },
    { type: "device", device_id: DEVICE_A, status: "revoked" },
  ]);
});

Deno.test("ReplicationListener decodes an update that leaves a large TOASTed value unchanged", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const alice = await Inbox.open(bus, "alice");
  await using l = testListener(db, bus);
  await l.start();

  // Random hex does not compress, so the value is stored out of line (TOAST).
  const big = Array.from(crypto.getRandomValues(new Uint8Array(60_000)), (b) => b.toString(16))
    .join("");
  await writeItems(db.driver, [
    { user: "alice", collection: "commands", id: "big", seq: 1, data: { command: big } },
  ]);
  await alice.waitForSeq(1);
  await db.driver.query(
    "update items set seq = 2, version = version + 1 where user_id = 'alice' and id = 'big'",
  );
  await alice.waitForSeq(2);
  assert.deepEqual(alice.cursors(), [encodeCursor(1), encodeCursor(2)]);
  assert.equal(l.state().lastError, null);
});

Deno.test("ReplicationListener confirms past an idle schema with heartbeats and reports slot health", async () => {
  await using db = await openReplicationDb();
  await using l = testListener(db, new MemoryBus(), { heartbeatMs: 100 });
  await l.start();
  // WAL that the publication does not carry: only the heartbeat lets the slot move on.
  await db.driver.query("insert into users (user_id) values ('carol')");
  // Not pg_current_wal_lsn(): with synchronous_commit=off that can still be short of the
  // slot's own starting point, and the check below passes before any stream has started.
  const lsn = formatLsn(await walEnd(db.driver));
  await eventually(
    async () => {
      const [row] = await db.driver.query<{ past: boolean }>(
        "select confirmed_flush_lsn >= $1::pg_lsn as past from pg_replication_slots where slot_name = $2",
        [lsn, db.slot],
      );
      return row.past;
    },
    10_000,
    "confirmed_flush_lsn past the idle write",
  );
  await eventually(() => l.state().lagBytes !== null, 5_000, "a health check");
  const state = l.state();
  assert.equal(state.role, "holder");
  assert.equal(state.slot, db.slot);
  assert.equal(state.walStatus, "reserved");
  assert.equal(state.streaming, true);
  assert.match(state.lastAckedLsn ?? "", /^[0-9A-F]+\/[0-9A-F]+$/);
  assert.equal(typeof state.lagSeconds, "number");
});
