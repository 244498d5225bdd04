import type { ClientStore, ItemRecord, QueuedChange } from "../store.ts";

// The few IndexedDB types used here: Deno's type library has none, and adding the DOM
// library to the project's type check would change Deno's own WebSocket and fetch types.
interface Request<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface ObjectStore {
  getAll(): Request<unknown[]>;
  get(key: string): Request<unknown>;
  put(value: unknown, key?: string): void;
  delete(key: unknown): void;
  clear(): void;
}
interface Transaction {
  objectStore(name: string): ObjectStore;
  error: unknown;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
interface Database {
  transaction(names: string[], mode: "readonly" | "readwrite"): Transaction;
  createObjectStore(name: string, options?: { keyPath: string | string[] }): void;
  close(): void;
}
interface OpenRequest extends Request<Database> {
  onupgradeneeded: (() => void) | null;
}
interface Factory {
  open(name: string, version: number): OpenRequest;
}

const STORES = ["items", "queue", "meta"];

/**
 * Keeps the state in the browser's IndexedDB database `name`: items, the queue and the
 * cursor in three object stores, each write one transaction over them.
 * @example const store = indexedDbStore("devpocket-sync");
 */
export function indexedDbStore(name: string): ClientStore {
  // must: one connection, opened once: transactions then start in the order writes were called.
  let db: Promise<Database> | null = null;
  const opened = () => db ??= openDatabase(name);
  return {
    async load() {
      const tx = (await opened()).transaction(STORES, "readonly");
      const [items, queue, cursor] = await Promise.all([
        result(tx.objectStore("items").getAll()) as Promise<ItemRecord[]>,
        result(tx.objectStore("queue").getAll()) as Promise<QueuedChange[]>,
        result(tx.objectStore("meta").get("cursor")) as Promise<string | undefined>,
      ]);
      return { items, queue: queue.sort((a, b) => a.seq - b.seq), cursor: cursor ?? null };
    },
    async write(write) {
      const tx = (await opened()).transaction(STORES, "readwrite");
      const done = completion(tx);
      const items = tx.objectStore("items");
      const queue = tx.objectStore("queue");
      if (write.clearItems) items.clear();
      for (const item of write.putItems ?? []) items.put(item);
      for (const { collection, id } of write.removeItems ?? []) items.delete([collection, id]);
      for (const change of write.enqueue ?? []) queue.put(change);
      for (const seq of write.dequeue ?? []) queue.delete(seq);
      if (write.cursor !== undefined) tx.objectStore("meta").put(write.cursor, "cursor");
      await done;
    },
    async close() {
      const open = db;
      db = null;
      (await open?.catch(() => null))?.close();
    },
  };
}

function openDatabase(name: string): Promise<Database> {
  const factory = (globalThis as { indexedDB?: Factory }).indexedDB;
  if (!factory) return Promise.reject(new Error("indexedDbStore needs IndexedDB (a browser)"));
  const request = factory.open(name, 1);
  request.onupgradeneeded = () => {
    request.result.createObjectStore("items", { keyPath: ["collection", "id"] });
    request.result.createObjectStore("queue", { keyPath: "seq" });
    request.result.createObjectStore("meta");
  };
  return result(request);
}

function result<T>(request: Request<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB request failed"));
  });
}

function completion(tx: Transaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}
