import { deepFreeze, jsonEqual, toItemData } from "./json.ts";
import {
  itemKey,
  type ItemRecord,
  type QueuedChange,
  type ServerCopy,
  type StoreState,
  type StoreWrite,
} from "./store.ts";
import type {
  ChangeResult,
  ChangeStatus,
  ItemData,
  PulledChange,
  WireChange,
  WireError,
} from "./wire.ts";

/** An item as the app sees it. */
export interface Item {
  collection: string;
  id: string;
  data: ItemData;
  /** The server version the local copy derives from; null before the server stored it. */
  version: number | null;
  modified_at: number;
  /** True while a change of it waits for the server's answer. */
  pending: boolean;
  /** The writer's user id (team items). */
  author?: string;
}

/** What changed for the app: the item as it now is, or null once gone. */
export interface ChangeEvent {
  collection: string;
  id: string;
  item: Item | null;
  /** `local`: this app's put/delete; `remote`: the server's copy replaced the local one. */
  source: "local" | "remote";
  /** For `remote`: the push answer that settled a local change, or `pull`/`resync`. */
  cause?: ChangeStatus | "pull" | "resync";
}

/** A batch ready to send: the queued changes and their wire form. */
export interface Batch {
  changes: QueuedChange[];
  wire: WireChange[];
}

/** One step of the state: what to write to the store and what to tell the app. */
export interface Step {
  write: StoreWrite;
  events: ChangeEvent[];
}

/** What a push answer settled. */
export interface Settled extends Step {
  rejected: { change: QueuedChange; error: WireError }[];
  conflicts: string[];
  /** The answer stored versions this device does not hold yet: pull. */
  needsPull: boolean;
}

/**
 * The device's items, queue and cursor in memory, and every rule of how local changes,
 * push answers and pulls combine. Pure: no I/O, no clock (times come in), so each rule is
 * tested directly; the client writes each returned `Step` to its store.
 *
 * Invariants:
 * - An item with unanswered changes keeps its local data and its `base` whatever a pull
 *   brings: the pull only updates the item's server copy. The change then reaches the
 *   server with the version its edit was made on, and the server's strategy merges.
 * - Once an item's last change is answered, the local copy becomes the server's copy
 *   (pulled first when the answer names a version this device has not seen).
 * - A batch holds at most one change per item, so every change is sent with the base the
 *   answer to the one before it established.
 */
export class LocalState {
  readonly #items = new Map<string, ItemRecord>();
  /** In queue order. */
  #queue: QueuedChange[];
  #cursor: string | null;
  #nextSeq: number;
  readonly #pending = new Map<string, number>();
  #inFlight: ReadonlySet<number> = new Set();

  constructor(state: StoreState) {
    for (const item of state.items) {
      this.#items.set(itemKey(item.collection, item.id), deepFreeze(item));
    }
    this.#queue = [...state.queue].sort((a, b) => a.seq - b.seq).map(deepFreeze);
    for (const change of this.#queue) this.#count(itemKey(change.collection, change.id), 1);
    this.#cursor = state.cursor;
    this.#nextSeq = (this.#queue.at(-1)?.seq ?? 0) + 1;
  }

  get cursor(): string | null {
    return this.#cursor;
  }

  /** Changes waiting for an answer. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The seq of the newest queued change (0 when none was ever queued here). */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /** True once no change up to `seq` waits for an answer. */
  answeredUpTo(seq: number): boolean {
    return (this.#queue[0]?.seq ?? Infinity) > seq;
  }

  get(collection: string, id: string): Item | undefined {
    const record = this.#items.get(itemKey(collection, id));
    return record ? this.#view(record) ?? undefined : undefined;
  }

  /** Live items of a collection, oldest change first. */
  list(collection: string): Item[] {
    const out: Item[] = [];
    for (const record of this.#items.values()) {
      if (record.collection !== collection) continue;
      const item = this.#view(record);
      if (item) out.push(item);
    }
    return out.sort((a, b) => a.modified_at - b.modified_at || (a.id < b.id ? -1 : 1));
  }

  /** Every record, tombstones and unsynced items included (for checks and tools). */
  records(): ItemRecord[] {
    return [...this.#items.values()];
  }

  put(collection: string, id: string, data: unknown, now: number, changeId: string): Step {
    const frozen = toItemData(data);
    const key = itemKey(collection, id);
    const current = this.#items.get(key);
    const next: ItemRecord = deepFreeze({
      collection,
      id,
      data: frozen,
      deleted: false,
      modified_at: now,
      base: current?.base ?? null,
      server: current?.server ?? null,
    });
    const change = this.#enqueue(
      { change_id: changeId, collection, id, op: "upsert", data: frozen, modified_at: now },
    );
    this.#items.set(key, next);
    return {
      write: { putItems: [next], enqueue: [change] },
      events: [{ collection, id, item: this.#view(next), source: "local" }],
    };
  }

  /**
   * Deletes an item. An item the server never stored, with no change of it on the way,
   * is dropped here together with its unsent changes: nothing is sent, so text typed by
   * mistake never leaves the device. Unknown or already deleted items: nothing at all.
   * Answers the change id queued, or null when nothing needs sending.
   */
  delete(
    collection: string,
    id: string,
    now: number,
    changeId: string,
  ): Step & { changeId: string | null } {
    const key = itemKey(collection, id);
    const current = this.#items.get(key);
    if (!current || current.deleted) return { write: {}, events: [], changeId: null };
    const inFlight = this.#queue.some((c) => this.#inFlight.has(c.seq) && sameItem(c, current));
    if (current.server === null && !inFlight) {
      const unsent = this.#queue.filter((c) => sameItem(c, current));
      this.#queue = this.#queue.filter((c) => !sameItem(c, current));
      this.#pending.delete(key);
      this.#items.delete(key);
      return {
        write: { removeItems: [{ collection, id }], dequeue: unsent.map((c) => c.seq) },
        events: [{ collection, id, item: null, source: "local" }],
        changeId: null,
      };
    }
    const next: ItemRecord = deepFreeze({
      ...current,
      data: null,
      deleted: true,
      modified_at: now,
    });
    const change = this.#enqueue({
      change_id: changeId,
      collection,
      id,
      op: "delete",
      modified_at: now,
    });
    this.#items.set(key, next);
    return {
      write: { putItems: [next], enqueue: [change] },
      events: [{ collection, id, item: null, source: "local" }],
      changeId,
    };
  }

  /**
   * The next changes to send, in queue order, at most `max` and ending before a second
   * change of one item; null when nothing is queued or a batch is still on its way.
   */
  nextBatch(max: number): Batch | null {
    if (this.#inFlight.size > 0 || this.#queue.length === 0) return null;
    const changes: QueuedChange[] = [];
    const items = new Set<string>();
    for (const change of this.#queue) {
      const key = itemKey(change.collection, change.id);
      if (items.has(key) || changes.length === max) break;
      items.add(key);
      changes.push(change);
    }
    this.#inFlight = new Set(changes.map((c) => c.seq));
    return {
      changes,
      wire: changes.map((c) => ({
        change_id: c.change_id,
        collection: c.collection,
        id: c.id,
        op: c.op,
        ...(c.op === "upsert" && { data: c.data }),
        base_version: this.#items.get(itemKey(c.collection, c.id))?.base ?? null,
        modified_at: c.modified_at,
      })),
    };
  }

  /** The batch on its way got no answer: its changes stay queued, to be sent again. */
  release(): void {
    this.#inFlight = new Set();
  }

  /**
   * Drops changes the server refused as a whole (a body it cannot take): each is reported
   * as rejected with `error`, and its item goes back to the server's copy.
   */
  reject(changes: QueuedChange[], error: WireError): Settled {
    return this.settle(
      changes,
      changes.map((c) => ({ change_id: c.change_id, status: "rejected", error })),
    );
  }

  /** Applies a push answer to the batch that was sent. */
  settle(batch: QueuedChange[], results: ChangeResult[]): Settled {
    this.release();
    const byId = new Map(results.map((r) => [r.change_id, r]));
    const out: Settled = { write: {}, events: [], rejected: [], conflicts: [], needsPull: false };
    const put = new Map<string, ItemRecord>();
    const removed: { collection: string; id: string }[] = [];
    const answered = new Set<number>();
    for (const change of batch) {
      const result = byId.get(change.change_id);
      // No answer for it (a server bug): it stays queued and goes again.
      if (!result) continue;
      answered.add(change.seq);
      const key = itemKey(change.collection, change.id);
      this.#count(key, -1);
      if (result.version !== undefined) out.needsPull = true;
      if (result.status === "rejected") {
        out.rejected.push({
          change,
          error: result.error ?? { code: "REJECTED", message: "Rejected" },
        });
      }
      if (result.status === "conflict" && result.conflict_id) {
        out.conflicts.push(result.conflict_id);
      }
      let record = this.#items.get(key);
      if (!record) continue;
      if (result.status === "applied" && result.version !== undefined) {
        const sent: ServerCopy = {
          version: result.version,
          data: change.op === "upsert" ? change.data! : null,
          deleted: change.op === "delete",
          modified_at: change.modified_at,
        };
        record = {
          ...record,
          base: result.version,
          server: record.server && record.server.version >= sent.version ? record.server : sent,
        };
      }
      if (this.#pending.has(key)) {
        put.set(key, record);
        continue;
      }
      const unseen = result.version !== undefined && result.status !== "applied" &&
        (record.server?.version ?? 0) < result.version;
      if (unseen) {
        // The server holds a version this device has not pulled: the pull replaces it.
        put.set(key, record);
        continue;
      }
      const settled = this.#toServerCopy(record);
      if (settled === null) {
        removed.push({ collection: change.collection, id: change.id });
        put.delete(key);
      } else {
        put.set(key, settled);
      }
      if (!sameContent(record, settled)) {
        out.events.push({
          collection: change.collection,
          id: change.id,
          item: settled && this.#view(settled),
          source: "remote",
          cause: result.status,
        });
      }
    }
    this.#queue = this.#queue.filter((c) => !answered.has(c.seq));
    for (const [key, record] of put) this.#items.set(key, deepFreeze(record));
    for (const { collection, id } of removed) this.#items.delete(itemKey(collection, id));
    out.write = { putItems: [...put.values()], removeItems: removed, dequeue: [...answered] };
    return out;
  }

  /** Applies one pull page and moves the cursor to its end. */
  applyPulled(changes: PulledChange[], cursor: string): Step {
    const events: ChangeEvent[] = [];
    const put: ItemRecord[] = [];
    for (const pulled of changes) {
      const key = itemKey(pulled.collection, pulled.id);
      const current = this.#items.get(key);
      const next = this.#merge(current, pulled);
      if (!next) continue;
      this.#items.set(key, next);
      put.push(next);
      if (!sameContent(current ?? null, next)) events.push(this.#remoteEvent(next, "pull"));
    }
    this.#cursor = cursor;
    return { write: { putItems: put, cursor }, events };
  }

  /**
   * A full resync (after 410): the pulled items replace the local ones; items with
   * unanswered changes keep them, and those changes stay queued.
   */
  replaceAll(changes: PulledChange[], cursor: string): Step {
    const previous = new Map(this.#items);
    const next = new Map<string, ItemRecord>();
    for (const pulled of changes) {
      const key = itemKey(pulled.collection, pulled.id);
      const merged = this.#merge(next.get(key) ?? previous.get(key), pulled);
      if (merged) next.set(key, merged);
      else if (previous.has(key)) next.set(key, previous.get(key)!);
    }
    for (const [key, record] of previous) {
      // Items the server no longer lists are gone, unless a local change of them waits.
      if (!next.has(key) && this.#pending.has(key)) next.set(key, { ...record, server: null });
    }
    const events: ChangeEvent[] = [];
    for (const key of new Set([...previous.keys(), ...next.keys()])) {
      const before = previous.get(key) ?? null;
      const after = next.get(key) ?? null;
      if (sameContent(before, after)) continue;
      const { collection, id } = (after ?? before)!;
      events.push({
        collection,
        id,
        item: after && this.#view(after),
        source: "remote",
        cause: "resync",
      });
    }
    this.#items.clear();
    for (const [key, record] of next) this.#items.set(key, deepFreeze(record));
    this.#cursor = cursor;
    return { write: { clearItems: true, putItems: [...next.values()], cursor }, events };
  }

  #merge(current: ItemRecord | undefined, pulled: PulledChange): ItemRecord | null {
    const copy: ServerCopy = deepFreeze({
      version: pulled.version,
      data: pulled.data,
      deleted: pulled.deleted || pulled.redacted === true,
      modified_at: pulled.modified_at,
      ...(pulled.redacted && { redacted: true as const }),
      ...(pulled.author !== undefined && { author: pulled.author }),
    });
    if (current?.server && copy.version < current.server.version) return null;
    if (current && this.#pending.has(itemKey(current.collection, current.id))) {
      return { ...current, server: copy };
    }
    return this.#toServerCopy({
      collection: pulled.collection,
      id: pulled.id,
      data: null,
      deleted: true,
      modified_at: 0,
      base: null,
      server: copy,
    });
  }

  /** The record with its local copy set to its server copy; null when the server has none. */
  #toServerCopy(record: ItemRecord): ItemRecord | null {
    const server = record.server;
    if (!server) return null;
    return {
      collection: record.collection,
      id: record.id,
      data: server.data,
      deleted: server.deleted,
      modified_at: server.modified_at,
      base: server.version,
      server,
    };
  }

  #remoteEvent(record: ItemRecord, cause: ChangeEvent["cause"]): ChangeEvent {
    return {
      collection: record.collection,
      id: record.id,
      item: this.#view(record),
      source: "remote",
      cause,
    };
  }

  #enqueue(change: Omit<QueuedChange, "seq">): QueuedChange {
    const queued = deepFreeze({ seq: this.#nextSeq++, ...change });
    this.#queue.push(queued);
    this.#count(itemKey(change.collection, change.id), 1);
    return queued;
  }

  #count(key: string, delta: number): void {
    const n = (this.#pending.get(key) ?? 0) + delta;
    if (n > 0) this.#pending.set(key, n);
    else this.#pending.delete(key);
  }

  #view(record: ItemRecord): Item | null {
    if (record.deleted || record.data === null) return null;
    const author = record.server?.author;
    return {
      collection: record.collection,
      id: record.id,
      data: record.data,
      version: record.base,
      modified_at: record.modified_at,
      pending: this.#pending.has(itemKey(record.collection, record.id)),
      ...(author !== undefined && { author }),
    };
  }
}

function sameItem(change: QueuedChange, record: ItemRecord): boolean {
  return change.collection === record.collection && change.id === record.id;
}

/** Whether the app would see a difference between two records (null: no record). */
function sameContent(a: ItemRecord | null, b: ItemRecord | null): boolean {
  const liveA = a !== null && !a.deleted;
  const liveB = b !== null && !b.deleted;
  if (liveA !== liveB) return false;
  return !liveA || jsonEqual(a!.data, b!.data);
}
