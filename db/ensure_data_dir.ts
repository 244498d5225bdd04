/**
 * Creates the embedded database in `dataDir` unless one is there, in a worker that ends once
 * it is done, with `startParams` as the service will open it.
 *
 * A first start otherwise pays for initdb in the service's own isolate: PGlite creates the
 * database in a second PGlite, with a WebAssembly memory and a tar copy of the data
 * directory of its own, about 175 MB of external memory that V8 frees only at a full
 * collection, which an idle or lightly loaded service may not run for minutes (RSS after a
 * first start: 635 MB; after a restart on the same directory: 185 MB; with this: 200-240
 * MB). A terminated worker's isolate returns its heap at once. Restarts skip the worker.
 * Only a failure that left files behind is thrown.
 */
export async function ensureDataDir(dataDir: string, startParams: string[]): Promise<void> {
  if (await exists(`${dataDir}/PG_VERSION`)) return;
  // A data: URL, not a module file: `deno task start` grants no read of the source tree,
  // and a worker's module file needs it.
  const source = `onmessage = ${createDatabase.toString()}`;
  const worker = new Worker(`data:text/javascript,${encodeURIComponent(source)}`, {
    type: "module",
  });
  try {
    const failure = await new Promise<string | null>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
      const request: CreateRequest = {
        pglite: import.meta.resolve("@electric-sql/pglite"),
        dataDir,
        startParams,
      };
      worker.postMessage(request);
    });
    if (failure !== null) throw new Error(failure);
  } catch (error) {
    // Nothing written (e.g. a runtime whose workers cannot load PGlite): the caller's own
    // PGlite runs initdb, as it would without this, and reports what fails there.
    if (!await exists(`${dataDir}/PG_VERSION`)) return;
    throw new Error(
      `Creating the embedded database in "${dataDir}" failed: ${
        error instanceof Error ? error.message : error
      }`,
    );
  } finally {
    worker.terminate();
  }
}

interface CreateRequest {
  /** PGlite's resolved specifier: a data: module has no import map. */
  pglite: string;
  dataDir: string;
  startParams: string[];
}

/**
 * The worker's message handler, sent as source: it may use only what it imports itself.
 * Answers null once the database is created and closed, else the error's message.
 */
async function createDatabase({ data }: MessageEvent<CreateRequest>): Promise<void> {
  const answer = (message: string | null) =>
    (globalThis as unknown as { postMessage(message: unknown): void }).postMessage(message);
  try {
    const { PGlite } = await import(data.pglite);
    const db = await PGlite.create({ dataDir: data.dataDir, startParams: data.startParams });
    await db.close();
    // must: before the worker ends. PGlite copies the new database out of initdb's instance
    // as a tar File (about 40 MB); Deno keeps a Blob's bytes outside the isolate until the
    // Blob is collected, which never happens once the isolate is terminated: without a
    // collection here every first start kept 38 MB for the life of the process. The flag,
    // set this late, only gives contexts created from now on a `gc`; the service makes none.
    const v8 = (await import("node:v8")).default;
    const vm = (await import("node:vm")).default;
    v8.setFlagsFromString("--expose-gc");
    vm.runInNewContext("gc")();
    // The Blobs' finalizers run as tasks of their own, after the collection.
    await new Promise((resolve) => setTimeout(resolve, 0));
    answer(null);
  } catch (error) {
    answer(error instanceof Error ? error.message : String(error));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
