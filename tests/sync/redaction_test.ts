/** RedactionService over the real store: bounded transactions, and completeness under writes. */
import assert from "node:assert/strict";
import { SqlStore } from "../../db/sql_store.ts";
import { WAL_NOTIFIER } from "../../sync/change_notifier.ts";
import { RedactionService } from "../../sync/redaction.ts";
import { SyncService } from "../../sync/sync_service.ts";
import type { Account } from "../../sync/tiers.ts";
import { command } from "../support/changes.ts";
import { withDrivers } from "../support/drivers.ts";
import { rowsHolding } from "../support/trace.ts";

const SECRET = "lime-9090-chalk";

const account: Account = {
  userId: "alice",
  tier: "pro",
  tierExpiresAt: null,
  teamId: null,
  teamRole: "member",
};
const who = { deviceId: crypto.randomUUID(), account };

withDrivers("RedactionService", (open) => {
  Deno.test({
    name:
      "erases in transactions of at most batchSize items, each told to the notifier with its head",
    fn: async () => {
      await using db = await open();
      const store = new SqlStore(db.driver);
      const sync = new SyncService(store, WAL_NOTIFIER);
      await sync.push(who, [
        ...Array.from({ length: 5 }, (_, i) => command(`echo ${SECRET} ${i}`)),
        command("ls"),
      ]);
      const told: { owner: string; device: string | null; seq: number; collections: string[] }[] =
        [];
      const redaction = new RedactionService(store, {
        ...WAL_NOTIFIER,
        committed: (owner, device, plan) => {
          told.push({ owner, device, ...plan.committed });
          return Promise.resolve();
        },
      }, { batchSize: 2, pageSize: 3 });
      assert.deepEqual(await redaction.redact(who, { literal: SECRET }), { redacted: 5 });
      assert.deepEqual(
        told.map(({ owner, device, seq, collections }) => [owner, device, seq, collections]),
        [
          ["alice", null, 8, ["commands"]],
          ["alice", null, 10, ["commands"]],
          ["alice", null, 11, ["commands"]],
        ],
      );
      assert.deepEqual(await rowsHolding(db.driver, SECRET), []);
    },
  });

  Deno.test({
    name: "a matching write committed while the scan runs is redacted before the answer",
    fn: async () => {
      await using db = await open();
      const store = new SqlStore(db.driver);
      const sync = new SyncService(store, WAL_NOTIFIER);
      await sync.push(who, Array.from({ length: 4 }, (_, i) => command(`echo ${i}`)));
      let pages = 0;
      // The first page is read, then another device pushes the secret behind the scan.
      const racing = Object.assign(Object.create(store), {
        itemTexts: async (...args: Parameters<SqlStore["itemTexts"]>) => {
          const page = await store.itemTexts(...args);
          if (pages++ === 0) await sync.push(who, [command(`echo ${SECRET}`)]);
          return page;
        },
      }) as SqlStore;
      const redaction = new RedactionService(racing, WAL_NOTIFIER, { batchSize: 2, pageSize: 2 });
      assert.deepEqual(await redaction.redact(who, { literal: SECRET }), { redacted: 1 });
      assert.deepEqual(await rowsHolding(db.driver, SECRET), []);
    },
  });
});
