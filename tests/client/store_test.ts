/** The store contract, run against every store that runs under Deno, and fileStore's durability. */
import assert from "node:assert/strict";
import type { ClientStore, ItemRecord, QueuedChange, StoreWrite } from "../../client/store.ts";
import { fileStore } from "../../client/stores/file_store.ts";
import { memoryStore } from "../../client/stores/memory_store.ts";

/** Every file store of this module lives below ROOT, removed when the tests end. */
const ROOT = Deno.makeTempDirSync({ prefix: "client-store-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

function item(id: string, data: Record<string, unknown> | null, version = 1): ItemRecord {
  return {
    collection: "settings",
    id,
    data,
    deleted: data === null,
    modified_at: 1_700_000_000_000,
    base: version,
    server: { version, data, deleted: data === null, modified_at: 1_700_000_000_000 },
  };
}

function queued(seq: number, id: string): QueuedChange {
  return {
    seq,
    change_id: `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
    collection: "settings",
    id,
    op: "upsert",
    data: { n: seq },
    modified_at: 1_700_000_000_000 + seq,
  };
}

const STORES: Record<string, () => Promise<{ store: ClientStore; reopen: () => ClientStore }>> = {
  memoryStore: () => {
    const store = memoryStore();
    return Promise.resolve({ store, reopen: () => store });
  },
  fileStore: async () => {
    const dir = await Deno.makeTempDir({ dir: ROOT });
    return { store: fileStore(`${dir}/state.json`), reopen: () => fileStore(`${dir}/state.json`) };
  },
};

for (const [name, open] of Object.entries(STORES)) {
  Deno.test(`${name}: writes apply in order; a reopened store loads items, queue order and cursor`, async () => {
    const { store, reopen } = await open();
    assert.deepEqual(await store.load(), { items: [], queue: [], cursor: null });
    const writes: StoreWrite[] = [
      {
        putItems: [item("a", { v: 1 }), item("b", { v: 1 })],
        enqueue: [queued(2, "b"), queued(1, "a")],
      },
      {
        putItems: [item("a", { v: 2 }, 2)],
        dequeue: [1],
        enqueue: [queued(3, "c")],
        cursor: "c1.5",
      },
      { removeItems: [{ collection: "settings", id: "b" }], putItems: [item("c", { v: 3 })] },
    ];
    for (const write of writes) await store.write(write);
    await store.close();
    const loaded = await reopen().load();
    assert.deepEqual(loaded.items.map((i) => [i.id, i.data]).sort(), [["a", { v: 2 }], ["c", {
      v: 3,
    }]]);
    assert.deepEqual(loaded.queue.map((c) => c.seq), [2, 3]);
    assert.equal(loaded.cursor, "c1.5");
  });

  Deno.test(`${name}: clearItems drops every item and keeps the queue (a full resync)`, async () => {
    const { store } = await open();
    await store.load();
    await store.write({
      putItems: [item("a", { v: 1 }), item("b", { v: 1 })],
      enqueue: [queued(1, "a")],
    });
    await store.write({ clearItems: true, putItems: [item("z", { v: 9 })], cursor: "c1.9" });
    const loaded = await store.load();
    assert.deepEqual(loaded.items.map((i) => i.id), ["z"]);
    assert.deepEqual(loaded.queue.map((c) => c.seq), [1]);
    await store.close();
  });

  Deno.test(`${name}: what a caller changes after writing or loading never reaches the store`, async () => {
    const { store } = await open();
    await store.load();
    const record = item("a", { v: 1 });
    await store.write({ putItems: [record] });
    (record.data as { v: number }).v = 99;
    const first = await store.load();
    (first.items[0].data as { v: number }).v = 42;
    assert.deepEqual((await store.load()).items[0].data, { v: 1 });
    await store.close();
  });
}

/** What a new process would load from `path`. */
async function loadOnce(path: string) {
  const store = fileStore(path);
  try {
    return await store.load();
  } finally {
    await store.close();
  }
}

async function tempPath(): Promise<string> {
  return `${await Deno.makeTempDir({ dir: ROOT })}/state.json`;
}

Deno.test("fileStore: a process that dies without close() loses nothing that resolved", async () => {
  const path = await tempPath();
  const first = fileStore(path);
  await first.load();
  await Promise.all([
    first.write({ putItems: [item("a", { v: 1 })], enqueue: [queued(1, "a")] }),
    first.write({ enqueue: [queued(2, "b")], cursor: "c1.2" }),
  ]);
  // No close(): the journal is all there is.
  const reader = fileStore(path);
  const second = await reader.load();
  await reader.close();
  assert.deepEqual(second.queue.map((c) => c.change_id), [
    queued(1, "a").change_id,
    queued(2, "b").change_id,
  ]);
  assert.equal(second.cursor, "c1.2");
  assert.deepEqual(second.items.map((i) => i.id), ["a"]);
  await first.close();
});

Deno.test("fileStore: a torn last journal line (a crash mid-append) is ignored, and later writes land cleanly", async () => {
  const path = await tempPath();
  const store = fileStore(path);
  await store.load();
  await store.write({ enqueue: [queued(1, "a")] });
  await store.close();
  await Deno.writeTextFile(`${path}.journal`, '{"seq":2,"write":{"enqueue":[{"se', {
    append: true,
  });
  const reopened = fileStore(path);
  assert.deepEqual((await reopened.load()).queue.map((c) => c.seq), [1]);
  await reopened.write({ enqueue: [queued(2, "b")] });
  await reopened.close();
  assert.deepEqual((await loadOnce(path)).queue.map((c) => c.seq), [1, 2]);
});

Deno.test("fileStore: a damaged line in the middle of the journal is reported, not skipped", async () => {
  const path = await tempPath();
  await Deno.writeTextFile(
    `${path}.journal`,
    '{"seq":1,"write":{"cursor":"c1.1"}}\nnot json\n{"seq":3,"write":{"cursor":"c1.3"}}\n',
  );
  await assert.rejects(() => loadOnce(path), /line 2 is not a journal entry/);
});

Deno.test("fileStore: compaction folds the journal into the snapshot, and the state survives it", async () => {
  const path = await tempPath();
  const store = fileStore(path, { compactAfter: 3 });
  await store.load();
  for (let seq = 1; seq <= 7; seq++) {
    await store.write({
      enqueue: [queued(seq, `i${seq}`)],
      ...(seq % 2 === 0 && { dequeue: [seq - 1] }),
    });
  }
  const journalLines = (await Deno.readTextFile(`${path}.journal`)).split("\n").filter(Boolean);
  assert.ok(journalLines.length < 3, `journal compacted: ${journalLines.length} lines left`);
  await store.close();
  assert.deepEqual((await loadOnce(path)).queue.map((c) => c.seq), [2, 4, 6, 7]);
});

Deno.test("fileStore: after a crash between the snapshot's rename and the journal's truncation, the state loads intact", async () => {
  const path = await tempPath();
  const store = fileStore(path);
  await store.load();
  await store.write({ putItems: [item("a", { v: 1 })], enqueue: [queued(1, "a")] });
  await store.write({ clearItems: true, putItems: [item("b", { v: 2 })], dequeue: [1] });
  await store.write({ enqueue: [queued(2, "b")], cursor: "c1.2" });
  const journal = await Deno.readTextFile(`${path}.journal`);
  await store.close();
  // Loading compacts: the snapshot now holds all three writes and the journal is empty.
  await loadOnce(path);
  assert.equal(await Deno.readTextFile(`${path}.journal`), "");
  // As if the process died after the rename, before the truncation.
  await Deno.writeTextFile(`${path}.journal`, journal);
  const loaded = await loadOnce(path);
  assert.deepEqual(loaded.items.map((i) => i.id), ["b"]);
  assert.deepEqual(loaded.queue.map((c) => c.seq), [2]);
  assert.equal(loaded.cursor, "c1.2");
});
