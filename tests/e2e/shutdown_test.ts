/**
 * Graceful shutdown of a real service process (`deno task start`, as the Dockerfile runs
 * it) on real Postgres and Redis: SIGTERM while a push is in flight and a socket is open.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { TEST_SECRET } from "../support/app.ts";
import { eventually, sleep } from "../support/eventually.ts";
import { requester } from "../support/instance.ts";
import { testRedisUrl } from "../support/services.ts";
import { startServiceProcess } from "../support/service_process.ts";
import { openReplicationDb } from "../sync/replication/support.ts";
import { type Device, type Endpoint, push, randomUser, register, watch } from "./devices.ts";

/** main.ts's bound on the whole drain. */
const GRACE_MS = 10_000;
/** pgoutput message tags of row changes: what the slot still holds for a later session. */
const ROW_CHANGES = new Set(["I", "U", "D"].map((c) => c.charCodeAt(0)));

Deno.test("e2e: SIGTERM drains: the in-flight push answers 200, sockets close 1012, the exit is 0 within the bound and the slot confirmed the push", async () => {
  await using db = await openReplicationDb();
  await using service = await startServiceProcess({
    DATABASE_URL: db.url,
    REDIS_URL: testRedisUrl(),
    JWT_SECRET: TEST_SECRET,
    REPLICATION_SLOT: db.slot,
    LOG_LEVEL: "warn",
  });
  const endpoint = { url: service.url, request: requester(service.url) };
  const user = randomUser();
  const laptop = await register(endpoint, user, "laptop");
  const phone = await register(endpoint, user, "phone");
  await using onPhone = await watch(endpoint, phone);
  const warmUp = await push(endpoint, laptop);
  await onPhone.waitFor(warmUp.cursor);

  // The push waits for the user's row lock, held here: in flight for as long as the test says.
  await using locker = lockUser(db.url, user);
  await locker.locked;
  const pushing = pushBigBatch(endpoint, laptop);
  await eventually(async () => await locker.waiters() > 0, 5_000, "the push to wait for the lock");

  const signalledAt = Date.now();
  service.child.kill("SIGTERM");
  const closed = await onPhone.ws.closed;
  assert.equal(closed.code, 1012, "open sockets close with 1012");
  await sleep(300);
  assert.equal(await Promise.race([service.status.then(() => "exited"), sleep(0)]), undefined);
  // Draining: no new connection is accepted while the push is still in flight.
  const port = Number(new URL(service.url).port);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
  locker.release();

  const pushed = await pushing;
  assert.equal(pushed.status, 200);
  assert.deepEqual(new Set(pushed.statuses), new Set(["applied"]));
  const status = await service.status;
  const elapsed = Date.now() - signalledAt;
  assert.equal(status.code, 0, service.logs.join("\n"));
  assert.ok(elapsed < GRACE_MS, `exited after ${elapsed} ms`);

  // Nothing of the push is left in the slot: a restarted listener replays none of it.
  await eventually(
    async () => {
      const [slot] = await db.driver.query<{ active: boolean }>(
        "select active from pg_replication_slots where slot_name = $1",
        [db.slot],
      );
      return slot?.active === false;
    },
    10_000,
    "the walsender to exit",
  );
  // The test cluster runs synchronous_commit=off and a peek decodes flushed WAL only:
  // a commit with it on flushes everything written before it.
  await db.driver.transaction(async (tx) => {
    await tx.query("set local synchronous_commit = on");
    await tx.query("select pg_logical_emit_message(true, 'test', 'flush')");
  });
  const pending = await db.driver.query<{ tag: number }>(
    `select get_byte(data, 0) as tag from pg_logical_slot_peek_binary_changes(
       $1, null, null, 'proto_version', '1', 'publication_names', $2)`,
    [db.slot, db.slot],
  );
  assert.deepEqual(pending.filter((row) => ROW_CHANGES.has(row.tag)), [], "unconfirmed changes");
  const [{ items }] = await db.driver.query<{ items: number }>(
    "select count(*)::int as items from items where user_id = $1",
    [user],
  );
  assert.equal(items, 1 + BATCH, "the warm-up and the batch are stored");
});

/** Changes in the in-flight push: the most a batch may hold, each near 8 KB (4 MB of WAL). */
const BATCH = 500;

/**
 * One batch big enough that the listener is still streaming it for a while after the
 * push answered: a shutdown that stopped the listener at once would leave it unconfirmed.
 */
async function pushBigBatch(at: Endpoint, device: Device) {
  const changes = Array.from({ length: BATCH }, (_, i) => ({
    change_id: crypto.randomUUID(),
    collection: "commands",
    id: crypto.randomUUID(),
    op: "upsert",
    data: { command: `echo ${i} ${"x".repeat(8_000)}`, session_id: "s1", started_at: 1 },
    base_version: null,
    modified_at: Date.now(),
  }));
  const res = await at.request("POST", "/api/sync/data", {
    token: device.token,
    body: { changes },
  });
  const body = await res.json() as { results: { status: string }[] };
  return { status: res.status, statuses: body.results?.map((r) => r.status) ?? [] };
}

/** A transaction holding `user`'s row lock until `release()`. */
function lockUser(url: string, user: string) {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const locked = Promise.withResolvers<void>();
  const released = Promise.withResolvers<void>();
  const holding = sql.begin(async (tx) => {
    await tx`select 1 from users where user_id = ${user} for update`;
    locked.resolve();
    await released.promise;
  });
  holding.catch(locked.reject);
  return {
    locked: locked.promise,
    release: () => released.resolve(),
    /** Sessions of this database waiting for a lock. */
    async waiters(): Promise<number> {
      const [{ n }] = await sql`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`;
      return n;
    },
    async [Symbol.asyncDispose]() {
      released.resolve();
      await holding.catch(() => {});
      await sql.end();
    },
  };
}
