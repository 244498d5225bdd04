/**
 * Faults of the replication slot end to end, on real Postgres and Redis: what no retry
 * heals is named by /ready and /metrics; a slot dropped under the holder is recreated and
 * every socket, on every instance, is told what the lost hints would have said.
 */
import assert from "node:assert/strict";
import { encodeCursor } from "../../sync/cursor.ts";
import { eventually } from "../support/eventually.ts";
import { openInstance } from "../support/instance.ts";
import { testRedisUrl } from "../support/services.ts";
import { openReplicationDb, type ReplicationDb } from "../sync/replication/support.ts";
import { openCluster } from "./cluster.ts";
import { push, randomUser, register, watch } from "./devices.ts";

Deno.test("e2e: a slot that is not a pgoutput logical slot makes /ready answer 503 naming slot_misconfigured, and /metrics show it", async () => {
  await using db = await openReplicationDb();
  await db.driver.query("select pg_create_physical_replication_slot($1)", [db.slot]);
  await using instance = await openInstance({
    databaseUrl: db.url,
    redisUrl: testRedisUrl(),
    slot: db.slot,
  });
  await eventually(
    async () => (await instance.request("GET", "/ready")).status === 503,
    5_000,
    "/ready to answer 503",
  );
  const ready = await (await instance.request("GET", "/ready")).json();
  assert.equal(ready.status, "not_ready");
  assert.deepEqual([ready.database.ok, ready.bus.ok], [true, true]);
  assert.equal(ready.listener.ok, false);
  assert.equal(ready.listener.role, "holder");
  assert.equal(ready.listener.fault.kind, "slot_misconfigured");
  assert.match(ready.listener.fault.message, /not a pgoutput logical slot/);
  const metrics = await (await instance.request("GET", "/metrics")).text();
  assert.match(metrics, /^devpocket_replication_fault\{kind="slot_misconfigured"\} 1$/m);
  assert.match(metrics, /^devpocket_replication_fault\{kind="permission_denied"\} 0$/m);
});

/**
 * Commits one change of `userId` (made by `deviceId`) that no stream will ever carry: its
 * transaction is still open when the slot is dropped under the holder, and the new slot is
 * consistent only after it commits. Returns its cursor.
 */
async function commitWhileTheSlotIsDropped(
  db: ReplicationDb,
  userId: string,
  deviceId: string,
): Promise<string> {
  return await db.driver.transaction(async (tx) => {
    const [{ seq }] = await tx.query<{ seq: number }>(
      "update users set seq = seq + 1 where user_id = $1 returning seq::int as seq",
      [userId],
    );
    await tx.query(
      `insert into items (user_id, collection, id, version, data, modified_at, device_id, seq)
       values ($1, 'commands', $2, 1, $3, 0, $4, $5)`,
      [
        userId,
        crypto.randomUUID(),
        JSON.stringify({ command: "echo lost", session_id: "s1", started_at: 1 }),
        deviceId,
        seq,
      ],
    );
    // The walsender is ended until the slot is inactive long enough to be dropped.
    await tx.query(`
      do $$
      begin
        for attempt in 1..500 loop
          perform pg_terminate_backend(active_pid) from pg_replication_slots
            where slot_name = '${db.slot}' and active_pid is not null;
          begin
            perform pg_drop_replication_slot('${db.slot}');
            return;
          exception when object_in_use then
            perform pg_sleep(0.02);
          end;
        end loop;
        raise 'the slot stayed active';
      end $$`);
    return encodeCursor(seq);
  });
}

Deno.test("e2e: a slot dropped under the holder is recreated, and sockets on every instance are told of the change whose hint was lost", async () => {
  // A Redis of its own: the catch-up goes to every hub listening on it.
  await using c = await openCluster({ redis: "private" });
  const [holder] = c.holders();
  assert.ok(holder, "one instance holds the slot");
  const user = randomUser();
  const phone = await register(c.a, user, "phone");
  const laptop = await register(c.a, user, "laptop");
  const desktop = await register(c.b, user, "desktop");
  const head = await push(c.a, phone);
  await using onA = await watch(c.a, laptop, head.cursor);
  await using onB = await watch(c.b, desktop, head.cursor);

  const lost = await commitWhileTheSlotIsDropped(c.db, user, phone.id);
  for (const [who, w] of [["socket on A", onA], ["socket on B", onB]] as const) {
    const hint = await w.waitFor(lost, 15_000);
    assert.deepEqual(
      { cursor: hint.cursor, collections: hint.collections, origin: hint.origin },
      { cursor: lost, collections: ["commands"], origin: phone.id },
      who,
    );
  }
  const [{ n }] = await c.db.driver.query<{ n: number }>(
    "select count(*)::int as n from pg_replication_slots where slot_name = $1",
    [c.db.slot],
  );
  assert.equal(n, 1, "the slot exists again");
  // It streams again, and says so.
  const after = await push(c.b, phone);
  await onA.waitFor(after.cursor);
  await onB.waitFor(after.cursor);
  await eventually(
    async () => (await holder.request("GET", "/ready")).status === 200,
    5_000,
    "/ready again",
  );
  assert.match(holder.listener?.state().lastError ?? "", /^slot_missing/);
});
