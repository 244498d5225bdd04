import assert from "node:assert/strict";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { parseLsn } from "../../../sync/replication/lsn.ts";
import { sessionConfig } from "../../../sync/replication/session.ts";
import { ensurePublicationAndSlot } from "../../../sync/replication/slot.ts";
import { streamSlot } from "../../../sync/replication/stream_slot.ts";
import { sleep } from "../../support/eventually.ts";
import { Inbox, openReplicationDb, writeItems } from "./support.ts";

Deno.test("streamSlot publishes and confirms nothing once this instance no longer holds the slot, and ends with lock_lost", async () => {
  await using db = await openReplicationDb();
  const session = {
    query: async (text: string, params?: unknown[]) => ({
      rows: await db.driver.query(text, params),
    }),
  };
  await ensurePublicationAndSlot(session, db.slot);
  const confirmed = async () =>
    (await db.driver.query<{ lsn: string }>(
      "select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1",
      [db.slot],
    ))[0].lsn;
  const before = await confirmed();
  await writeItems(db.driver, [{ user: "alice", collection: "commands", id: "c1", seq: 1 }]);
  const bus = new MemoryBus();
  const inbox = await Inbox.open(bus, "alice");

  const failure = await streamSlot({
    session: sessionConfig(db.url, "devpocket-sync-test", 10_000),
    slot: db.slot,
    bus,
    confirmedLsn: parseLsn(before),
    // Bounds the test if the stream went on regardless.
    signal: AbortSignal.timeout(5_000),
    stillHolder: () => Promise.resolve(false),
    silenceMs: 10_000,
  });
  assert.equal(failure?.kind, "lock_lost");
  await sleep(100);
  assert.deepEqual(inbox.events, []);
  assert.equal(await confirmed(), before);
});
