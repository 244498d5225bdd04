import { type ClientStore, StoreImage, type StoreState, type StoreWrite } from "../store.ts";

/** Options of {@link fileStore}. */
export interface FileStoreOptions {
  /**
   * Flush each group of writes to the disk (fdatasync) before they resolve, so a change
   * acknowledged by the store survives a power cut. Default true.
   */
  durable?: boolean;
  /** Journal entries after which the state is rewritten as one snapshot. Default 1000. */
  compactAfter?: number;
}

interface Snapshot {
  format: 1;
  /** The journal entry the snapshot includes, and all before it. */
  seq: number;
  state: StoreState;
}

interface Entry {
  seq: number;
  write: StoreWrite;
}

const encoder = new TextEncoder();

/**
 * Keeps the state in a file (Deno): a snapshot at `path` and a journal of the writes since
 * at `path + ".journal"`, one JSON line each, appended in groups (one `fdatasync` per group).
 * Loading replays the journal over the snapshot and ignores a torn last line (a crash
 * mid-append loses only writes that never resolved). The snapshot is replaced by a rename,
 * so a crash while compacting leaves the old snapshot and a journal that still holds
 * everything. One process at a time may use a path.
 * @example const client = new SyncClient({ baseUrl, deviceToken, store: fileStore("./sync.json") });
 */
export function fileStore(path: string, options: FileStoreOptions = {}): ClientStore {
  const durable = options.durable ?? true;
  const compactAfter = options.compactAfter ?? 1000;
  const journalPath = `${path}.journal`;
  let open: {
    image: StoreImage;
    journal: Deno.FsFile;
    seq: number;
    entries: number;
    pending: { line: string; done: PromiseWithResolvers<void> }[];
    flushing: Promise<void> | null;
  } | null = null;

  const compact = async () => {
    const o = open!;
    const snapshot: Snapshot = { format: 1, seq: o.seq, state: o.image.state() };
    const tmp = `${path}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(snapshot));
    if (durable) {
      using file = await Deno.open(tmp, { read: true, write: true });
      await file.syncData();
    }
    // must: the snapshot is in place before the journal it includes is emptied.
    await Deno.rename(tmp, path);
    await o.journal.truncate(0);
    o.entries = 0;
  };

  const flush = async () => {
    const o = open!;
    while (o.pending.length > 0) {
      const group = o.pending.splice(0);
      try {
        await writeAll(o.journal, encoder.encode(group.map((p) => p.line).join("")));
        if (durable) await o.journal.syncData();
        o.entries += group.length;
        if (o.entries >= compactAfter) await compact();
        for (const p of group) p.done.resolve();
      } catch (error) {
        for (const p of group) p.done.reject(error);
      }
    }
    o.flushing = null;
  };

  return {
    async load() {
      if (open) return structuredClone(open.image.state());
      const snapshot = await readSnapshot(path);
      const image = StoreImage.from(snapshot.state);
      let seq = snapshot.seq;
      const entries = await readJournal(journalPath);
      for (const entry of entries) {
        if (entry.seq <= snapshot.seq) continue;
        image.apply(entry.write);
        seq = entry.seq;
      }
      const dir = path.replace(/[\\/][^\\/]*$/, "");
      if (dir !== path && dir) await Deno.mkdir(dir, { recursive: true });
      const journal = await Deno.open(journalPath, { append: true, create: true });
      open = { image, journal, seq, entries: entries.length, pending: [], flushing: null };
      // A journal may end in a torn line: start the next append on a clean file.
      if ((await journal.stat()).size > 0) await compact();
      return structuredClone(image.state());
    },

    write(write) {
      if (!open) return Promise.reject(new Error(`fileStore(${path}) is not open: call load()`));
      const seq = ++open.seq;
      const line = JSON.stringify({ seq, write } satisfies Entry) + "\n";
      open.image.apply(JSON.parse(line).write);
      const done = Promise.withResolvers<void>();
      open.pending.push({ line, done });
      open.flushing ??= flush();
      return done.promise;
    },

    async close() {
      if (!open) return;
      while (open.flushing) await open.flushing;
      open.journal.close();
      open = null;
    },
  };
}

async function readSnapshot(path: string): Promise<Snapshot> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { format: 1, seq: 0, state: { items: [], queue: [], cursor: null } };
    }
    throw error;
  }
  const snapshot = JSON.parse(text) as Snapshot;
  if (snapshot.format !== 1) {
    throw new Error(`fileStore(${path}): unknown format ${JSON.stringify(snapshot.format)}`);
  }
  return snapshot;
}

async function readJournal(path: string): Promise<Entry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const lines = text.split("\n");
  const entries: Entry[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === "") continue;
    try {
      entries.push(JSON.parse(lines[i]));
    } catch (error) {
      // A crash mid-append tears only the last line; anything else is damage to report.
      if (i === lines.length - 1) break;
      throw new Error(`${path}: line ${i + 1} is not a journal entry: ${error}`);
    }
  }
  return entries;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
}
