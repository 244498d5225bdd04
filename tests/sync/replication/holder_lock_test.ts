import assert from "node:assert/strict";
import { SILENT_LOGGER } from "../../../sync/logger.ts";
import { HolderLock } from "../../../sync/replication/holder_lock.ts";
import type { ReplicationError } from "../../../sync/replication/replication_error.ts";
import { eventually } from "../../support/eventually.ts";
import { startUrlProxy } from "../../support/tcp_proxy.ts";
import { openReplicationDb } from "./support.ts";

Deno.test("HolderLock: a holder cut off without a word loses the lock to another within its timeout, and knows it before it would publish", async () => {
  await using db = await openReplicationDb();
  await using proxy = startUrlProxy(db.url);
  const timeoutMs = 1_500;
  const lost: ReplicationError[] = [];
  const options = { slot: db.slot, timeoutMs, logger: SILENT_LOGGER };
  const cutOff = new HolderLock({
    ...options,
    databaseUrl: proxy.url,
    onLost: (error) => lost.push(error),
  });
  const other = new HolderLock({ ...options, databaseUrl: db.url, onLost: () => {} });
  try {
    assert.equal(await cutOff.tryAcquire(), true);
    assert.equal(await cutOff.verify(), true);
    assert.equal(await other.tryAcquire(), false);

    // Both ends still see an open connection; nothing crosses it any more.
    proxy.blackhole();
    const cutAt = Date.now();
    await eventually(() => other.tryAcquire(), 10_000, "another instance to take the lock");
    const tookMs = Date.now() - cutAt;
    assert.ok(tookMs < timeoutMs + 1_500, `the server freed the lock after ${tookMs} ms`);
    assert.equal(await cutOff.verify(), false, "the cut-off holder knows it lost the lock");
    assert.deepEqual(lost.map((e) => e.kind), ["lock_lost"]);
    assert.equal(cutOff.held, false);
  } finally {
    await Promise.all([cutOff.release(), other.release()]);
  }
});
