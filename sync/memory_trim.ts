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

/** Growth of the RSS above where the last trim left it that is worth a trim, while quiet. */
const QUIET_GROWTH_BYTES = 1024 * 1024;

/**
 * The same, under load. A trim there is dear: starting its worker holds the event loop for
 * 20-50 ms (measured on a 2-core VM), and what it gives back is faulted in again within the
 * second. Trimmed at every 1 MB, an embedded service under steady pushes sustained 350-700/s
 * with p99 at 200-700/s of 32-48 ms; never trimmed, 1,200/s and 8-46 ms. So under load only
 * an excursion this large is trimmed, and the rest waits for the first quiet look.
 */
const BUSY_GROWTH_BYTES = 16 * 1024 * 1024;

/**
 * Every `intervalSeconds` (0: never), looks at the RSS and trims when it stands well above
 * where the last trim left it: 1 MB once the service is quiet (no request, socket or bus message
 * since the last look), 16 MB while it works. An idle instance starts no workers; after load,
 * the first quiet look gives back what built up. The timer holds no process open.
 */
export class MemoryTrimmer {
  #timer: ReturnType<typeof setInterval> | undefined;
  /**
   * The RSS where the last trim left it: unknown (Infinity) until the first look after it,
   * since the trim lands tens of ms after it is asked for; lowered whenever the RSS falls below.
   */
  #floor = Infinity;
  /**
   * Whether the look that read the floor saw load. The memory in use then (responses, sockets
   * and statements in flight) is freed as the load ends, to malloc, which keeps it: the RSS
   * does not move, so it never stands above that floor, and nothing would give it back until
   * the RSS grew again. So the first quiet look after such a floor trims whatever the growth
   * (an embedded service after 10,000 pushes from 16 users: 208 MB, 199 MB once trimmed).
   */
  #floorUnderLoad = false;
  #lastWork: number | undefined;

  readonly #rss: () => number;
  readonly #trim: () => void;
  readonly #collect: () => Promise<void>;
  readonly #workDone: () => number;

  constructor(
    readonly intervalSeconds: number,
    hooks: {
      /** Work done so far (Metrics.work): while it moves, the service is under load. */
      work?: () => number;
      rss?: () => number;
      trim?: () => void;
      collect?: () => Promise<void>;
    } = {},
  ) {
    this.#workDone = hooks.work ?? (() => 0);
    this.#rss = hooks.rss ?? (() => Deno.memoryUsage().rss);
    this.#trim = hooks.trim ?? trimNativeMemory;
    this.#collect = hooks.collect ?? collectGarbage;
  }

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
    await this.#collect().catch(() => {});
    this.#tryTrim();
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const timer = setInterval(() => this.check(), this.intervalSeconds * 1000);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /**
   * One look at the RSS and the work done, trimming if the RSS stands high enough, or if the
   * load is over and the floor was read under it.
   */
  check(): void {
    const rss = this.#rss();
    const work = this.#workDone();
    const busy = this.#lastWork !== undefined && work !== this.#lastWork;
    this.#lastWork = work;
    if (this.#floor === Infinity) this.#floorUnderLoad = busy;
    this.#floor = Math.min(this.#floor, rss);
    const freedAsLoadEnded = !busy && this.#floorUnderLoad;
    if (freedAsLoadEnded || rss - this.#floor >= (busy ? BUSY_GROWTH_BYTES : QUIET_GROWTH_BYTES)) {
      this.#tryTrim();
      this.#floor = Infinity;
    }
  }

  /**
   * Best effort: a runtime that cannot start the worker (a permission, a resource limit) only
   * keeps its freed memory; thrown from the timer, it would end the process.
   */
  #tryTrim(): void {
    try {
      this.#trim();
    } catch {
      // Nothing given back this time.
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
