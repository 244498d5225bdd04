/**
 * Gives the native memory the process has freed back to the OS.
 *
 * glibc's malloc keeps freed memory resident until it reuses it: PGlite's open, a first
 * start's initdb worker, V8's background compilations of PGlite's WebAssembly, response
 * bodies and socket buffers leave tens of MB counted in the RSS (an idle embedded service
 * after a first start: 275 MB, 215 MB once trimmed). Deno calls `malloc_trim(0)` as a worker's
 * thread exits (denoland/deno#32617), and a program has no other way to ask for it (no FFI;
 * Deno's SIGUSR2 trim needs DENO_USR2_MEMORY_TRIM set before start): so a worker that ends at
 * once is started. It costs a thread and an isolate, tens of ms of CPU; on an allocator that
 * is not glibc's it frees nothing and harms nothing.
 */

import v8 from "node:v8";
import vm from "node:vm";

/** A module that ends its worker as soon as it has started. */
const EMPTY_WORKER = "data:text/javascript,close()";

/** Starts a worker that ends at once; Deno trims the allocator as its thread exits. */
export function trimNativeMemory(): void {
  const worker = new Worker(EMPTY_WORKER, { type: "module" });
  // Best effort: a worker that fails to start only means nothing is trimmed this time.
  worker.onerror = (event) => event.preventDefault();
}

/** How long start waits for its trim's worker to end. */
const SETTLE_MS = 100;

/**
 * A full collection of this isolate, and the frees of the backing stores it released (they
 * run as tasks after it). The flag, set this late, gives a `gc` only to contexts created
 * from now on, such as the one made here to fetch it.
 */
async function collectGarbage(): Promise<void> {
  v8.setFlagsFromString("--expose-gc");
  vm.runInNewContext("gc")();
  await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Growth of the RSS between two looks that is worth a trim. */
const MIN_GROWTH_BYTES = 1024 * 1024;

/**
 * Every `intervalSeconds` (0: never), trims if the RSS grew since the last look: under load
 * freed memory builds up by several MB a second and each trim gives it back, while an idle
 * instance starts no workers. The first look always trims: startup's garbage keeps coming for
 * a few hundred ms after the service listens (embedded: about 230 MB then, 162 MB after that trim).
 * The timer holds no process open.
 */
export class MemoryTrimmer {
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;

  constructor(
    readonly intervalSeconds: number,
    private readonly rss: () => number = () => Deno.memoryUsage().rss,
    private readonly trim: () => void = trimNativeMemory,
    private readonly collect: () => Promise<void> = collectGarbage,
  ) {}

  /**
   * Gives back what startup left, then looks every interval. Startup leaves tens of MB that
   * only V8's next full collection frees, and then only to malloc, which keeps them until a
   * trim (in the embedded mode, PGlite's WebAssembly binary and file system image among
   * them): so a full collection and a trim before the service listens. RSS just after start,
   * bench/mixed_memory.ts: embedded 191-226 MB against 202-244, Postgres mode 89 MB against
   * 112-115. The trim runs as its worker's thread exits, tens of ms later: waited for a
   * moment, so that load finds it done.
   */
  async start(): Promise<void> {
    if (this.intervalSeconds <= 0 || this.#timer !== undefined) return;
    // Best effort, as the trim is: a runtime that refuses the flag still starts, untrimmed.
    await this.collect().catch(() => {});
    this.trim();
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const timer = setInterval(() => this.check(), this.intervalSeconds * 1000);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** One look at the RSS, trimming if it grew since the last. */
  check(): void {
    const rss = this.rss();
    if (rss - this.#last >= MIN_GROWTH_BYTES) this.trim();
    this.#last = rss;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
