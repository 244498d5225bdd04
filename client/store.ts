/**
 * What a client keeps between runs, and the one small interface every store implements
 * (`memoryStore()`, `fileStore(path)`, `indexedDbStore(name)`). The client holds the state
 * in memory and writes each change of it through, in order; a store only has to load what
 * was written and apply each write atomically.
 * @module
 */
import type { ItemData } from "./wire.ts";

/** The server's copy of an item, as last seen in a pull or a push answer. */
export interface ServerCopy {
  version: number;
  data: ItemData | null;
  deleted: boolean;
  modified_at: number;
  redacted?: true;
  author?: string;
}

/** One item on this device. */
export interface ItemRecord {
  collection: string;
  id: string;
  /** What the app sees: the server's copy with this device's unanswered changes on top. */
  data: ItemData | null;
  deleted: boolean;
  modified_at: number;
  /** The server version the local copy derives from: the next change's `base_version`. */
  base: number | null;
  /** The newest server copy seen; null while the server has never stored the item. */
  server: ServerCopy | null;
}

/** A local change waiting for the server's answer; `change_id` is fixed when queued. */
export interface QueuedChange {
  /** Queue order, increasing. */
  seq: number;
  change_id: string;
  collection: string;
  id: string;
  op: "upsert" | "delete";
  data?: ItemData;
  modified_at: number;
}

/** Everything a store holds. */
export interface StoreState {
  items: ItemRecord[];
  /** In queue order. */
  queue: QueuedChange[];
  cursor: string | null;
}

/** One atomic change of the stored state, applied in this order. */
export interface StoreWrite {
  /** Drop every item first (a full resync). */
  clearItems?: boolean;
  putItems?: ItemRecord[];
  removeItems?: { collection: string; id: string }[];
  enqueue?: QueuedChange[];
  /** Queue seqs to drop. */
  dequeue?: number[];
  cursor?: string | null;
}

/** Where a client keeps its items, queue and cursor. */
export interface ClientStore {
  /** Opens (again, after `close`) and reads everything. */
  load(): Promise<StoreState>;
  /** Applies one write atomically; writes land in call order. */
  write(write: StoreWrite): Promise<void>;
  /** Releases files or connections; `load` may open it again. */
  close(): Promise<void>;
}

/** The key of an item in maps. */
export function itemKey(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}

/**
 * The stored state as maps, and `apply` for a write: what the memory and file stores keep
 * and replay. Writes only ever replace values, so replaying one twice is harmless.
 */
export class StoreImage {
  readonly items = new Map<string, ItemRecord>();
  readonly queue = new Map<number, QueuedChange>();
  cursor: string | null = null;

  static from(state: StoreState): StoreImage {
    const image = new StoreImage();
    image.apply({ putItems: state.items, enqueue: state.queue, cursor: state.cursor });
    return image;
  }

  apply(write: StoreWrite): void {
    if (write.clearItems) this.items.clear();
    for (const item of write.putItems ?? []) {
      this.items.set(itemKey(item.collection, item.id), item);
    }
    for (const { collection, id } of write.removeItems ?? []) {
      this.items.delete(itemKey(collection, id));
    }
    for (const change of write.enqueue ?? []) this.queue.set(change.seq, change);
    for (const seq of write.dequeue ?? []) this.queue.delete(seq);
    if (write.cursor !== undefined) this.cursor = write.cursor;
  }

  state(): StoreState {
    return {
      items: [...this.items.values()],
      queue: [...this.queue.values()].sort((a, b) => a.seq - b.seq),
      cursor: this.cursor,
    };
  }
}
