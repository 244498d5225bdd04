import assert from "node:assert/strict";
import postgres from "postgres";
import { SqlStore } from "../../db/sql_store.ts";
import type { BatchReads, BatchSnapshot } from "../../sync/sync_store.ts";
import { openTestDb, withDrivers } from "../support/drivers.ts";

/** A batch that reads one item and writes nothing, logging when its hooks run. */
function emptyBatch(log: string[], whileReading: () => void) {
  const reads: BatchReads = {
    changeIds: [crypto.randomUUID()],
    items: [{ collection: "settings", id: "sync" }],
    dedupeKeys: [],
    bases: () => [],
    whileReading,
  };
  const decide = (snapshot: BatchSnapshot) => {
    log.push("decide");
    const writes = {
      head: snapshot.head,
      newItems: [],
      changedItems: [],
      history: [],
      applied: [],
      conflicts: [],
    };
    return { writes, result: snapshot.head };
  };
  return { reads, decide };
}

withDrivers("store writeBatch", (open) => {
  Deno.test({
    name: "runs whileReading once per batch, before decide",
    fn: async () => {
      await using db = await open();
      const store = new SqlStore(db.driver);
      const log: string[] = [];
      // A first batch of a user creates its row and reads again: whileReading still runs once.
      for (const _ of [1, 2]) {
        const { reads, decide } = emptyBatch(log, () => log.push("whileReading"));
        assert.equal(await store.writeBatch("alice", reads, decide), 0);
      }
      assert.deepEqual(log, ["whileReading", "decide", "whileReading", "decide"]);
    },
  });
});

Deno.test({
  name: "[postgres] store writeBatch runs whileReading while its reads wait on the user's lock",
  fn: async () => {
    await using db = await openTestDb("postgres");
    const store = new SqlStore(db.driver);
    const first = emptyBatch([], () => {});
    await store.writeBatch("alice", first.reads, first.decide);
    const log: string[] = [];
    const other = postgres(db.url!, { max: 1, onnotice: () => {} });
    try {
      const holder = await other.reserve();
      await holder`begin`;
      await holder`select seq from users where user_id = 'alice' for update`;
      const ran = Promise.withResolvers<void>();
      const { reads, decide } = emptyBatch(log, () => {
        log.push("whileReading");
        ran.resolve();
      });
      const written = store.writeBatch("alice", reads, decide);
      const timeout = setTimeout(() => ran.reject(new Error("whileReading never ran")), 10_000);
      // The batch's reads cannot answer before the lock is given up below.
      await ran.promise.finally(() => clearTimeout(timeout));
      assert.deepEqual(log, ["whileReading"]);
      await holder`rollback`;
      holder.release();
      assert.equal(await written, 0);
      assert.deepEqual(log, ["whileReading", "decide"]);
    } finally {
      await other.end({ timeout: 1 });
    }
  },
});
