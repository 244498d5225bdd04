/**
 * The frozen-holder drill on real Postgres and Redis. The slot holder runs in a process of
 * its own, as main.ts wires it with the default timings, and is frozen with SIGSTOP (as a
 * VM pause or a partition would leave it): its sockets stay open and nothing of it ends
 * its sessions. A standby instance must take over within wal_sender_timeout (10 s on the
 * test cluster) plus a few seconds, and the old holder, once continued, must stand by
 * without publishing anything it received before it lost the slot.
 */
import assert from "node:assert/strict";
import { startServer } from "../../bench/support/server_process.ts";
import { TEST_SECRET } from "../support/app.ts";
import { eventually } from "../support/eventually.ts";
import { openInstance } from "../support/instance.ts";
import { testRedisUrl } from "../support/services.ts";
import { encodeCursor } from "../../sync/cursor.ts";
import { openReplicationDb, type ReplicationDb } from "../sync/replication/support.ts";
import {
  assertNoSkip,
  type Hint,
  push,
  type Pushed,
  randomUser,
  register,
  seq,
  watch,
} from "./devices.ts";

/** The drill's bound on the takeover: wal_sender_timeout (10 s) plus room to spare. */
const TAKEOVER_DEADLINE_MS = 45_000;

/** The listener role a process reports on /ready; null while it does not answer. */
async function roleOf(url: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) });
    return (await res.json()).listener?.role ?? null;
  } catch {
    return null;
  }
}

/**
 * Commits `count` one-row transactions of `userId` (made by `deviceId`) in a burst, as
 * plain SQL; returns their cursors. While the holder is frozen, its walsender sends them
 * into its socket until the kernel buffers are full: far more than one read's worth, so
 * on waking it would parse and handle a whole batch before it reads the end of the stream.
 */
async function burst(
  db: ReplicationDb,
  userId: string,
  deviceId: string,
  count: number,
): Promise<Pushed[]> {
  const [{ from }] = await db.driver.query<{ from: number }>(
    "select seq::int as from from users where user_id = $1",
    [userId],
  );
  await db.driver.query(`
    do $$
    declare s bigint;
    begin
      for i in 1..${count} loop
        update users set seq = seq + 1 where user_id = '${userId}' returning seq into s;
        insert into items (user_id, collection, id, version, data, modified_at, device_id, seq)
        values ('${userId}', 'commands', 'burst-' || i, 1,
                '{"command": "echo burst", "session_id": "s1", "started_at": 1}', 0,
                '${deviceId}', s);
        commit;
      end loop;
    end $$`);
  return Array.from({ length: count }, (_, i) => ({
    cursor: encodeCursor(from + i + 1),
    keys: [`commands/burst-${i + 1}`],
  }));
}

/** Cursors only move forward on a socket: no hint older than one already heard. */
function assertInOrder(hints: Hint[], who: string): void {
  for (let i = 1; i < hints.length; i++) {
    assert.ok(
      seq(hints[i].cursor) >= seq(hints[i - 1].cursor),
      `${who}: ${hints[i].cursor} arrived after ${hints[i - 1].cursor}`,
    );
  }
}

Deno.test("e2e: a slot holder frozen with SIGSTOP is replaced by a standby, and once continued it stands by and publishes nothing stale", async () => {
  await using db = await openReplicationDb();
  const redisUrl = testRedisUrl();
  // Started first, so it holds the slot; it listens only once it streams.
  await using frozen = await startServer("service", {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    JWT_SECRET: TEST_SECRET,
    REPLICATION_SLOT: db.slot,
    LOG_LEVEL: "warn",
  });
  assert.equal(await roleOf(frozen.url), "holder");
  await using standby = await openInstance({ databaseUrl: db.url, redisUrl, slot: db.slot });
  assert.equal(standby.listener?.state().role, "standby");

  const user = randomUser();
  const phone = await register(standby, user, "phone");
  const laptop = await register(standby, user, "laptop");
  const desktop = await register(standby, user, "desktop");
  await using onStandby = await watch(standby, laptop);
  await using onFrozen = await watch(frozen, desktop);
  const warmUp = await push(standby, phone);
  await onStandby.waitFor(warmUp.cursor);
  await onFrozen.waitFor(warmUp.cursor);

  Deno.kill(frozen.pid, "SIGSTOP");
  const frozenAt = Date.now();
  let continued = false;
  try {
    // Committed at once: the frozen holder's walsender sends them into a socket nobody reads.
    const burstDuringFreeze = await burst(db, user, phone.id, 1_000);
    const duringFreeze = await push(standby, phone);
    await onStandby.waitFor(duringFreeze.cursor, TAKEOVER_DEADLINE_MS);
    const takeoverMs = Date.now() - frozenAt;
    console.log(`hint delivered through the standby ${takeoverMs} ms after the freeze`);
    assert.equal(standby.listener?.state().role, "holder");
    const afterTakeover = await push(standby, phone);
    await onStandby.waitFor(afterTakeover.cursor);

    Deno.kill(frozen.pid, "SIGCONT");
    continued = true;
    await eventually(
      async () => await roleOf(frozen.url) === "standby",
      15_000,
      "the old holder to stand by",
    );
    // Delivery goes on, on both instances, through the new holder.
    const afterResume = await push(standby, phone);
    await onStandby.waitFor(afterResume.cursor);
    await onFrozen.waitFor(afterResume.cursor);
    // Room for anything stale the old holder might still publish to arrive, and show.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const pushed = [warmUp, ...burstDuringFreeze, duringFreeze, afterTakeover, afterResume];
    for (
      const [who, w] of [["socket on the standby", onStandby], [
        "socket on the old holder",
        onFrozen,
      ]] as const
    ) {
      assertInOrder(w.hints, who);
      assertNoSkip(w.hints, pushed, who);
    }
    assert.equal(standby.listener?.state().role, "holder");
  } finally {
    if (!continued) Deno.kill(frozen.pid, "SIGCONT");
  }
});
