/** The queue and the merge rules of the client's local state (pure: no server, no clock). */
import assert from "node:assert/strict";
import { LocalState } from "../../client/local_state.ts";
import type { StoreState } from "../../client/store.ts";
import type { ChangeResult, PulledChange } from "../../client/wire.ts";

const EMPTY: StoreState = { items: [], queue: [], cursor: null };
const T = 1_700_000_000_000;
let ids = 0;
const changeId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, "0")}`;

function pulled(id: string, version: number, data: Record<string, unknown> | null): PulledChange {
  return {
    collection: "settings",
    id,
    version,
    data,
    deleted: data === null,
    modified_at: T + version,
    device_id: "other",
    cursor: `c1.${version}`,
  };
}

function answer(
  state: LocalState,
  results: (Omit<ChangeResult, "change_id">)[],
) {
  const batch = state.nextBatch(500)!;
  assert.ok(batch, "a batch to answer");
  return {
    batch,
    settled: state.settle(
      batch.changes,
      batch.changes.map((c, i) => ({ change_id: c.change_id, ...results[i] })),
    ),
  };
}

Deno.test("LocalState: put applies at once, queues in order with fixed change ids, and list hides nothing", () => {
  const state = new LocalState(EMPTY);
  const a = changeId();
  const step = state.put("commands", "c1", { command: "ls", session_id: "s" }, T, a);
  assert.deepEqual(step.write.enqueue?.map((c) => c.change_id), [a]);
  assert.deepEqual(step.events, [{
    collection: "commands",
    id: "c1",
    item: {
      collection: "commands",
      id: "c1",
      data: { command: "ls", session_id: "s" },
      version: null,
      modified_at: T,
      pending: true,
    },
    source: "local",
  }]);
  state.put("commands", "c2", { command: "pwd", session_id: "s" }, T + 1, changeId());
  assert.deepEqual(state.list("commands").map((i) => i.id), ["c1", "c2"]);
  assert.equal(state.queued, 2);
  const batch = state.nextBatch(500)!;
  assert.deepEqual(batch.wire.map((c) => [c.id, c.op, c.base_version]), [
    ["c1", "upsert", null],
    ["c2", "upsert", null],
  ]);
  assert.equal(batch.wire[0].change_id, a);
  assert.equal(state.nextBatch(500), null, "one batch on its way at a time");
});

Deno.test("LocalState: the data is a frozen JSON copy: later edits of the caller's object change nothing", () => {
  const state = new LocalState(EMPTY);
  const data = { theme: "dark", nested: { size: 12 }, dropped: undefined };
  state.put("settings", "ui", data, T, changeId());
  data.nested.size = 99;
  const item = state.get("settings", "ui")!;
  assert.deepEqual(item.data, { theme: "dark", nested: { size: 12 } });
  assert.throws(() => {
    (item.data.nested as { size: number }).size = 1;
  }, TypeError);
  assert.throws(
    () => state.put("settings", "x", [] as unknown as Record<string, unknown>, T, changeId()),
    TypeError,
  );
});

Deno.test("LocalState: batches hold at most `max` changes and end before a second change of one item", () => {
  const state = new LocalState(EMPTY);
  for (let i = 0; i < 7; i++) state.put("commands", `c${i}`, { command: `x${i}` }, T, changeId());
  assert.deepEqual(state.nextBatch(5)!.changes.map((c) => c.id), ["c0", "c1", "c2", "c3", "c4"]);
  state.release();
  state.put("commands", "c1", { command: "edited" }, T, changeId());
  const first = state.nextBatch(500)!;
  assert.deepEqual(first.changes.map((c) => c.id), ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
  state.settle(
    first.changes,
    first.changes.map((c) => ({ change_id: c.change_id, status: "applied", version: 1 })),
  );
  state.put("commands", "c7", { command: "after" }, T, changeId());
  state.put("commands", "c7", { command: "after, edited" }, T, changeId());
  const second = state.nextBatch(500)!;
  // The second change of c1 waited for the answer to its first: its base is that version.
  // c7's second change waits the same way, for the next batch.
  assert.deepEqual(second.changes.map((c) => c.id), ["c1", "c7"]);
  assert.deepEqual(second.wire.map((c) => c.base_version), [1, null]);
  assert.deepEqual(second.wire[0].data, { command: "edited" });
});

Deno.test("LocalState: base_version is the version the local copy derives from, through pulls and answers", () => {
  const state = new LocalState(EMPTY);
  state.applyPulled([pulled("ui", 3, { theme: "dark", size: 12 })], "c1.3");
  assert.equal(state.get("settings", "ui")!.version, 3);
  state.put("settings", "ui", { theme: "light", size: 12 }, T, changeId());
  // Another device's v4 arrives while the edit is unanswered: the edit and its base stay.
  const step = state.applyPulled([pulled("ui", 4, { theme: "dark", size: 14 })], "c1.4");
  assert.deepEqual(step.events, [], "the app's view did not change");
  assert.deepEqual(state.get("settings", "ui")!.data, { theme: "light", size: 12 });
  const { batch, settled } = answer(state, [{ status: "merged", version: 5 }]);
  assert.equal(batch.wire[0].base_version, 3, "sent with the version the edit was made on");
  // v5 (the merge) was never pulled: the local copy waits for the pull the answer asks for.
  assert.equal(settled.needsPull, true);
  assert.deepEqual(settled.events, []);
  const merged = state.applyPulled([pulled("ui", 5, { theme: "light", size: 14 })], "c1.5");
  assert.deepEqual(merged.events.map((e) => [e.source, e.cause, e.item?.data]), [
    ["remote", "pull", { theme: "light", size: 14 }],
  ]);
  assert.equal(state.get("settings", "ui")!.version, 5);
  assert.equal(state.get("settings", "ui")!.pending, false);
  state.put("settings", "ui", { theme: "blue", size: 14 }, T, changeId());
  assert.equal(state.nextBatch(500)!.wire[0].base_version, 5);
});

Deno.test("LocalState: applied answers set the base for the item's next change and the server copy", () => {
  const state = new LocalState(EMPTY);
  state.put("settings", "ui", { theme: "a" }, T, changeId());
  const first = state.nextBatch(500)!;
  state.put("settings", "ui", { theme: "b" }, T + 1, changeId());
  state.settle(first.changes, [{
    change_id: first.changes[0].change_id,
    status: "applied",
    version: 1,
  }]);
  assert.deepEqual(state.get("settings", "ui")!.data, { theme: "b" });
  const second = state.nextBatch(500)!;
  assert.equal(second.wire[0].base_version, 1);
  state.settle(second.changes, [{
    change_id: second.changes[0].change_id,
    status: "applied",
    version: 2,
  }]);
  const record = state.records()[0];
  assert.deepEqual(record.server, {
    version: 2,
    data: { theme: "b" },
    deleted: false,
    modified_at: T + 1,
  });
  assert.equal(record.base, 2);
  assert.equal(state.queued, 0);
});

Deno.test("LocalState: kept_remote and conflict put the local copy back to the server's when it was pulled", () => {
  for (const status of ["kept_remote", "conflict"] as const) {
    const state = new LocalState(EMPTY);
    state.applyPulled([pulled("ui", 1, { theme: "dark" })], "c1.1");
    state.put("settings", "ui", { theme: "light" }, T, changeId());
    state.applyPulled([pulled("ui", 2, { theme: "green" })], "c1.2");
    const { settled } = answer(state, [{
      status,
      version: 2,
      ...(status === "conflict" && { conflict_id: "k1" }),
    }]);
    assert.deepEqual(settled.events.map((e) => [e.cause, e.item?.data]), [[status, {
      theme: "green",
    }]]);
    assert.deepEqual(settled.conflicts, status === "conflict" ? ["k1"] : []);
    assert.equal(state.get("settings", "ui")!.version, 2);
    assert.equal(state.get("settings", "ui")!.pending, false);
  }
});

Deno.test("LocalState: rejected, filtered and duplicate drop the change and restore the server's copy (none: gone)", () => {
  for (const status of ["rejected", "filtered", "duplicate"] as const) {
    const state = new LocalState(EMPTY);
    state.applyPulled([pulled("ui", 1, { theme: "dark" })], "c1.1");
    state.put("settings", "ui", { theme: "bad" }, T, changeId());
    state.put("commands", "new", { command: "export TOKEN=x" }, T, changeId());
    const error = { code: "VALIDATION_FAILED", message: "no" };
    const { settled } = answer(state, [
      { status, ...(status === "rejected" && { error }) },
      { status, ...(status === "rejected" && { error }) },
    ]);
    assert.deepEqual(settled.events.map((e) => [e.id, e.item?.data ?? null, e.cause]), [
      ["ui", { theme: "dark" }, status],
      ["new", null, status],
    ]);
    assert.equal(settled.rejected.length, status === "rejected" ? 2 : 0);
    assert.deepEqual(settled.write.removeItems, [{ collection: "commands", id: "new" }]);
    assert.equal(state.get("commands", "new"), undefined);
    assert.equal(state.queued, 0, "never sent again");
    assert.equal(settled.needsPull, false);
  }
});

Deno.test("LocalState: an answer that names a version already pulled settles at once (a retried batch's duplicate)", () => {
  const state = new LocalState(EMPTY);
  state.put("settings", "ui", { theme: "x" }, T, changeId());
  const batch = state.nextBatch(500)!;
  // The first answer was lost; a pull saw the change (as v1) before the retry's answer.
  state.release();
  state.applyPulled([pulled("ui", 1, { theme: "x" })], "c1.1");
  const again = state.nextBatch(500)!;
  assert.equal(again.changes[0].change_id, batch.changes[0].change_id, "the same change id again");
  const settled = state.settle(again.changes, [{
    change_id: again.changes[0].change_id,
    status: "duplicate",
    version: 1,
  }]);
  assert.deepEqual(settled.events, []);
  assert.equal(state.get("settings", "ui")!.version, 1);
  assert.equal(state.get("settings", "ui")!.pending, false);
});

Deno.test("LocalState: deleting an item the server never stored drops it and its unsent changes; nothing is sent", () => {
  const state = new LocalState(EMPTY);
  state.put("commands", "oops", { command: "echo secret" }, T, changeId());
  state.put("commands", "oops", { command: "echo secret2" }, T, changeId());
  state.put("commands", "keep", { command: "ls" }, T, changeId());
  const step = state.delete("commands", "oops", T, changeId());
  assert.equal(step.changeId, null);
  assert.deepEqual(step.write.dequeue, [1, 2]);
  assert.deepEqual(state.nextBatch(500)!.changes.map((c) => c.id), ["keep"]);
  assert.equal(state.get("commands", "oops"), undefined);
  assert.equal(state.delete("commands", "never-seen", T, changeId()).changeId, null);
});

Deno.test("LocalState: deleting an item whose creation is on its way queues a delete behind it", () => {
  const state = new LocalState(EMPTY);
  state.put("commands", "c", { command: "ls" }, T, changeId());
  const batch = state.nextBatch(500)!;
  const step = state.delete("commands", "c", T + 1, changeId());
  assert.ok(step.changeId);
  state.settle(batch.changes, [{
    change_id: batch.changes[0].change_id,
    status: "applied",
    version: 1,
  }]);
  const next = state.nextBatch(500)!;
  assert.deepEqual(next.wire.map((c) => [c.op, c.base_version, "data" in c]), [[
    "delete",
    1,
    false,
  ]]);
  state.settle(next.changes, [{
    change_id: next.changes[0].change_id,
    status: "applied",
    version: 2,
  }]);
  assert.equal(state.get("commands", "c"), undefined);
  assert.equal(state.records()[0].server?.deleted, true);
});

Deno.test("LocalState: a stale pull never overwrites a newer server copy", () => {
  const state = new LocalState(EMPTY);
  state.applyPulled([pulled("ui", 4, { theme: "new" })], "c1.9");
  const step = state.applyPulled([pulled("ui", 3, { theme: "old" })], "c1.9");
  assert.deepEqual(step.write.putItems, []);
  assert.deepEqual(state.get("settings", "ui")!.data, { theme: "new" });
});

Deno.test("LocalState: tombstones and redactions remove the item; a tombstone of an unknown item tells nobody", () => {
  const state = new LocalState(EMPTY);
  state.applyPulled([pulled("a", 1, { x: 1 }), pulled("b", 1, { x: 2 })], "c1.2");
  const step = state.applyPulled([
    pulled("a", 2, null),
    { ...pulled("b", 2, null), deleted: true, redacted: true },
    pulled("ghost", 1, null),
  ], "c1.5");
  assert.deepEqual(step.events.map((e) => [e.id, e.item]), [["a", null], ["b", null]]);
  assert.deepEqual(state.list("settings"), []);
  assert.equal(state.cursor, "c1.5");
});

Deno.test("LocalState: a full resync replaces the items but keeps queued changes and their items", () => {
  const state = new LocalState(EMPTY);
  state.applyPulled([
    pulled("a", 1, { v: 1 }),
    pulled("b", 1, { v: 1 }),
    pulled("gone", 1, { v: 1 }),
  ], "c1.3");
  state.put("settings", "a", { v: "local" }, T, changeId());
  state.put("settings", "offline-new", { v: "new" }, T, changeId());
  const step = state.replaceAll([pulled("a", 7, { v: 7 }), pulled("b", 2, { v: 2 })], "c1.9");
  assert.equal(step.write.clearItems, true);
  assert.deepEqual(
    step.events.map((e) => [e.id, e.item?.data ?? null, e.cause]).sort(),
    [["b", { v: 2 }, "resync"], ["gone", null, "resync"]],
  );
  assert.deepEqual(state.get("settings", "a")!.data, { v: "local" });
  assert.equal(state.get("settings", "a")!.version, 1, "the local edit keeps its base");
  assert.deepEqual(state.get("settings", "offline-new")!.data, { v: "new" });
  assert.equal(state.queued, 2);
  assert.equal(state.cursor, "c1.9");
});

Deno.test("LocalState: reloaded from a store, the queue, its order and the pending marks are back", () => {
  const state = new LocalState(EMPTY);
  const writes = [
    state.put("settings", "a", { v: 1 }, T, changeId()).write,
    state.put("settings", "b", { v: 1 }, T, changeId()).write,
    state.put("settings", "a", { v: 2 }, T, changeId()).write,
  ];
  const reloaded = new LocalState({
    items: writes.flatMap((w) => w.putItems ?? []).filter((item, i, all) =>
      all.findLastIndex((o) => o.id === item.id) === i
    ),
    queue: writes.flatMap((w) => w.enqueue ?? []).reverse(),
    cursor: "c1.4",
  });
  assert.deepEqual(reloaded.nextBatch(500)!.changes.map((c) => [c.id, c.seq]), [["a", 1], [
    "b",
    2,
  ]]);
  assert.equal(reloaded.get("settings", "a")!.pending, true);
  assert.equal(reloaded.lastSeq, 3);
  assert.equal(reloaded.answeredUpTo(3), false);
});
