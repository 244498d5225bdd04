import assert from "node:assert/strict";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { encodeCursor } from "../../../sync/cursor.ts";
import { ReplicationListener } from "../../../sync/replication/listener.ts";
import { eventually, sleep } from "../../support/eventually.ts";
import {
  Inbox,
  MemoryLogger,
  openReplicationDb,
  RefusingBus,
  type ReplicationDb,
  testListener,
  writeCommand,
} from "./support.ts";

// Quicker than the default heartbeat and backoff: these tests wait out failures.
const TIMING = { heartbeatMs: 300, maxBackoffMs: 400 };

/**
 * How many transactions writing items the slot would still send: those committed after its
 * confirmed_flush_lsn. Peeked once no listener streams the slot (a walsender can take a
 * moment to exit).
 */
async function transactionsPending(db: ReplicationDb): Promise<number> {
  let pending = -1;
  await eventually(async () => {
    const [{ active }] = await db.driver.query<{ active: boolean }>(
      "select active from pg_replication_slots where slot_name = $1",
      [db.slot],
    );
    if (active) return false;
    // pgoutput's Insert and Update messages (I, U): the items written, by transaction.
    const [row] = await db.driver.query<{ n: number }>(
      `select count(distinct xid::text)::int as n
       from pg_logical_slot_peek_binary_changes($1, null, null,
         'proto_version', '1', 'publication_names', $2)
       where get_byte(data, 0) in (73, 85)`,
      [db.slot, db.slot],
    );
    pending = row.n;
    return true;
  }, 10_000);
  return pending;
}

Deno.test("ReplicationListener never confirms past a transaction the bus refused, and replays it after a restart", async () => {
  await using db = await openReplicationDb();
  const memory = new MemoryBus();
  const inbox = await Inbox.open(memory, "alice");
  const refusing = new RefusingBus(memory, (m) => m.includes(encodeCursor(2)));
  const first = testListener(db, refusing, TIMING);
  try {
    await first.start();
    await writeCommand(db, "a", 1);
    await inbox.waitForSeq(1);
    // A message outside any transaction (as the listener's heartbeat is) written while seq 2's
    // transaction is open comes first in the stream, and confirming it is right: a
    // transaction is sent again when it commits after the slot's confirmed_flush_lsn, wherever
    // it began. Written here on purpose; the heartbeat may land there at any time.
    await writeCommand(
      db,
      "b",
      2,
      () => db.driver.query("select pg_logical_emit_message(false, 'test', 'inside seq 2')"),
    );
    await writeCommand(db, "c", 3);
    // Several sessions replay seq 2 and fail on it; seq 3 must wait behind it.
    await eventually(() => refusing.refusals >= 3, 10_000, "repeated refusals");
    assert.deepEqual(inbox.cursors(), [encodeCursor(1)]);
    assert.match(first.state().lastError ?? "", /^publish_failed/);
  } finally {
    await first.stop();
  }
  assert.equal(await transactionsPending(db), 2, "the slot still holds seq 2 and seq 3");

  await using second = testListener(db, memory, TIMING);
  await second.start();
  await inbox.waitForSeq(3);
  assert.deepEqual(inbox.cursors(), [encodeCursor(1), encodeCursor(2), encodeCursor(3)]);
});

Deno.test("ReplicationListener resumes by itself once the bus accepts again", async () => {
  await using db = await openReplicationDb();
  const memory = new MemoryBus();
  const inbox = await Inbox.open(memory, "alice");
  let down = true;
  const refusing = new RefusingBus(memory, () => down);
  await using l = testListener(db, refusing, TIMING);
  await l.start();
  await writeCommand(db, "a", 1);
  await writeCommand(db, "b", 2);
  await eventually(() => refusing.refusals >= 2, 10_000, "refusals");
  down = false;
  await inbox.waitForSeq(2);
  // At least once: seq 1 is never skipped, and comes before seq 2.
  const cursors = inbox.cursors();
  assert.equal(cursors[0], encodeCursor(1));
  assert.equal(cursors.at(-1), encodeCursor(2));
});

Deno.test("ReplicationListener backs off to its cap while the bus refuses, and starts over once a publish is confirmed", async () => {
  await using db = await openReplicationDb();
  const memory = new MemoryBus();
  const inbox = await Inbox.open(memory, "alice");
  let down = true;
  const refusedAt: number[] = [];
  const refusing = new RefusingBus(memory, () => {
    if (down) refusedAt.push(Date.now());
    return down;
  });
  await using l = testListener(db, refusing, { heartbeatMs: 300, maxBackoffMs: 1_600 });
  await l.start();
  await writeCommand(db, "a", 1);
  // Each attempt replays seq 1 and fails on it: 250, 500, 1000, 1600 ms apart (plus
  // reconnecting), not 250 ms forever.
  await eventually(() => refusedAt.length >= 5, 15_000, "five refused attempts");
  const gaps = refusedAt.slice(1, 5).map((at, i) => at - refusedAt[i]);
  assert.ok(gaps[2] >= 950 && gaps[3] >= 1_550, `backoff grows to its cap: gaps ${gaps}`);

  down = false;
  await inbox.waitForSeq(1);
  // Progress (a confirmed publish) starts the backoff over: the next failure retries soon.
  down = true;
  refusedAt.length = 0;
  await writeCommand(db, "b", 2);
  await eventually(() => refusedAt.length >= 2, 10_000, "two refused attempts");
  const gap = refusedAt[1] - refusedAt[0];
  assert.ok(gap < 900, `the first retry after progress waits 250 ms, not the cap: ${gap} ms`);
});

Deno.test("ReplicationListener reconnects after its walsender is terminated", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const inbox = await Inbox.open(bus, "alice");
  await using l = testListener(db, bus, TIMING);
  await l.start();
  await writeCommand(db, "a", 1);
  await inbox.waitForSeq(1);

  const [{ terminated }] = await db.driver.query<{ terminated: boolean }>(
    `select pg_terminate_backend(active_pid) as terminated
       from pg_replication_slots where slot_name = $1`,
    [db.slot],
  );
  assert.equal(terminated, true);
  await writeCommand(db, "b", 2);
  await inbox.waitForSeq(2);
  await writeCommand(db, "c", 3);
  await inbox.waitForSeq(3);
  assert.deepEqual([...new Set(inbox.cursors())], [1, 2, 3].map(encodeCursor));
  assert.equal(l.state().role, "holder");
});

Deno.test("ReplicationListener lets exactly one instance hold the slot; a standby takes over without losing a change", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const inbox = await Inbox.open(bus, "alice");
  await using a = testListener(db, bus, TIMING);
  await using b = testListener(db, bus, TIMING);
  await Promise.all([a.start(), b.start()]);
  assert.deepEqual([a.state().role, b.state().role].sort(), ["holder", "standby"]);
  const [holder, standby] = a.state().role === "holder" ? [a, b] : [b, a];

  await writeCommand(db, "a", 1);
  await inbox.waitForSeq(1);
  await sleep(300);
  assert.deepEqual(inbox.cursors(), [encodeCursor(1)], "only the holder publishes");
  assert.equal(standby.state().role, "standby");

  await holder.stop();
  // Written while nobody streams: the slot keeps it for the next holder.
  await writeCommand(db, "b", 2);
  const started = Date.now();
  await eventually(() => standby.state().role === "holder", 5_000, "takeover");
  await inbox.waitForSeq(2, 5_000);
  assert.ok(Date.now() - started < 5_000);
  await writeCommand(db, "c", 3);
  await inbox.waitForSeq(3);
  assert.deepEqual([...new Set(inbox.cursors())], [1, 2, 3].map(encodeCursor));
  assert.equal(holder.state().role, "stopped");
});

Deno.test("ReplicationListener hands the slot over when the holder's sessions drop, as when its process dies", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const inbox = await Inbox.open(bus, "alice");
  await using a = testListener(db, bus, TIMING);
  await a.start();
  await using b = testListener(db, bus, TIMING);
  await b.start();
  await writeCommand(db, "a", 1);
  await inbox.waitForSeq(1);

  // Kill the holder's lock session and its walsender from the server side.
  await db.driver.query(
    `select pg_terminate_backend(pid) from (
       select pid from pg_locks where locktype = 'advisory' and granted
          and database = (select oid from pg_database where datname = current_database())
       union select active_pid from pg_replication_slots where slot_name = $1
     ) holder where pid is not null`,
    [db.slot],
  );
  await writeCommand(db, "b", 2);
  await inbox.waitForSeq(2, 8_000);
  await eventually(
    () => [a.state().role, b.state().role].filter((r) => r === "holder").length === 1,
    5_000,
    "exactly one holder",
  );
  assert.deepEqual([...new Set(inbox.cursors())], [1, 2].map(encodeCursor));
});

Deno.test("ReplicationListener reports a slot that lost its WAL and does not recreate it", async () => {
  await using db = await openReplicationDb();
  const logger = new MemoryLogger();
  const options = { databaseUrl: db.url, slot: db.slot, bus: new MemoryBus(), logger };
  const quick = { heartbeatMs: 100, retryMs: 100, maxBackoffMs: 100 };
  {
    // Create the slot, then leave it behind while WAL moves on.
    await using first = new ReplicationListener({ ...options, ...quick });
    await first.start();
  }
  try {
    await db.driver.query("alter system set max_slot_wal_keep_size = '1MB'");
    await db.driver.query("select pg_reload_conf()");
    await eventually(
      async () => {
        await db.driver.query("insert into users (user_id) values ($1)", [crypto.randomUUID()]);
        await db.driver.query("select pg_switch_wal()");
        await db.driver.query("checkpoint");
        const [row] = await db.driver.query<{ wal_status: string }>(
          "select wal_status from pg_replication_slots where slot_name = $1",
          [db.slot],
        );
        return row.wal_status === "lost";
      },
      20_000,
      "the slot to lose its WAL",
    );

    await using second = new ReplicationListener({ ...options, ...quick });
    await second.start();
    await eventually(() => second.state().walStatus === "lost", 5_000, "walStatus lost");
    await eventually(() => /^slot_lost/.test(second.state().lastError ?? ""), 5_000, "slot_lost");
    assert.equal(second.state().streaming, false);
    assert.ok(logger.entries.some((e) => e.level === "error"));
    const [{ n }] = await db.driver.query<{ n: number }>(
      "select count(*)::int as n from pg_replication_slots where slot_name = $1 and wal_status = 'lost'",
      [db.slot],
    );
    assert.equal(n, 1, "the lost slot is still there, not recreated");
  } finally {
    await db.driver.query("alter system reset max_slot_wal_keep_size");
    await db.driver.query("select pg_reload_conf()");
  }
});

Deno.test("ReplicationListener lives through its sessions being ended again and again, whatever they are doing, and streams once they are left alone", async () => {
  await using db = await openReplicationDb();
  const bus = new MemoryBus();
  const inbox = await Inbox.open(bus, "alice");
  await using l = testListener(db, bus, TIMING);
  await l.start();
  await writeCommand(db, "a", 1);
  await inbox.waitForSeq(1);

  // The lock session, the set-up sessions and the walsender, each caught wherever it is: an
  // error the listener leaves unhandled fails this test as an uncaught error.
  const until = Date.now() + 2_000;
  let seq = 1;
  let ended = 0;
  while (Date.now() < until) {
    const rows = await db.driver.query<{ done: boolean }>(
      `select pg_terminate_backend(pid) as done from pg_stat_activity
        where datname = current_database() and application_name like 'devpocket-sync-replication%'`,
    );
    ended += rows.filter((r) => r.done).length;
    await writeCommand(db, `k${seq}`, ++seq);
    await sleep(15 + Math.random() * 40);
  }
  assert.ok(ended > 5, `sessions ended: ${ended}`);
  await writeCommand(db, "last", ++seq);
  await inbox.waitForSeq(seq, 10_000);
  assert.equal(l.state().role, "holder");
});
