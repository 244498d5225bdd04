import { AckPacer } from "./ack_pacer.ts";
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.ts";
import {
  conflictEvent,
  type ResolveOptions,
  type StatusEvent,
  type SyncClientEvents,
} from "./client_events.ts";
import { Emitter } from "./emitter.ts";
import { describe, isRetryable, SyncApiError } from "./errors.ts";
import { isAbort } from "./http.ts";
import { type Item, LocalState, type Settled, type Step } from "./local_state.ts";
import { REAL_RUNTIME, type Runtime, sleep } from "./runtime.ts";
import type { ClientStore } from "./store.ts";
import { SyncApi } from "./sync_api.ts";
import { SyncSocket, type WebSocketFactory } from "./sync_socket.ts";
import {
  COLLECTIONS,
  type ConflictView,
  ITEM_ID,
  MAX_BATCH,
  MAX_PULL_LIMIT,
  type PullResponse,
  type Resolution,
  type ServerMessage,
} from "./wire.ts";
import { Waiters } from "./waiters.ts";

export type * from "./client_events.ts";

export interface SyncClientOptions {
  baseUrl: string;
  /** From `registerDevice()`. */
  deviceToken: string;
  store: ClientStore;
  /** Open the socket for live updates (default true); without it, call `pull()` yourself. */
  realtime?: boolean;
  /** Changes per push, at most 500 (the default). */
  batchSize?: number;
  /** Changes per pull page, at most 1000 (the default). */
  pullLimit?: number;
  /** Acknowledgements go out at most this often (default 1 s): the socket has a message budget. */
  ackIntervalMs?: number;
  backoff?: BackoffPolicy;
  requestTimeoutMs?: number;
  /** Socket pings, to notice a dead link (default 25 s). */
  pingEveryMs?: number;
  fetch?: typeof fetch;
  webSocket?: WebSocketFactory;
  /** Clock, timers and randomness (tests). */
  runtime?: Runtime;
}

/**
 * A device's sync: local changes apply at once and are queued in the store; the queue goes
 * to the service in order, in batches, whenever it answers; remote changes arrive by pull,
 * prompted by the socket. Retries back off exponentially with full jitter and honour
 * `Retry-After`. See DESIGN.md §13.
 * @example
 * const client = new SyncClient({ baseUrl, deviceToken: token, store: memoryStore() });
 * await client.start();
 * client.put("settings", "ui", { theme: "dark" });
 * await client.flush();
 * await client.stop();
 */
export class SyncClient {
  readonly #o: SyncClientOptions;
  readonly #runtime: Runtime;
  readonly #api: SyncApi;
  readonly #events = new Emitter<SyncClientEvents>();
  readonly #socket: SyncSocket | null;
  #state: LocalState | null = null;
  #status: StatusEvent = { state: "stopped", socket: "closed", queued: 0 };
  #abort = new AbortController();
  /** Aborted by `wake()`: cuts every retry wait short. */
  #retryWake = new AbortController();
  #loops: Promise<void>[] = [];
  #writes: Promise<void> = Promise.resolve();
  #pushWake: (() => void) | null = null;
  #pullWake: (() => void) | null = null;
  #pullWanted = false;
  #pullsStarted = 0;
  readonly #pullWaiters = new Waiters();
  readonly #flushWaiters = new Waiters();
  #batchSize: number;
  readonly #acks: AckPacer;
  #reported = new Set<string>();
  #firstPull: PromiseWithResolvers<Error | null> | null = null;
  /** Set from the moment the client stops until it starts again. */
  #halting: Promise<void> | null = Promise.resolve();
  #starting: Promise<void> | null = null;

  constructor(options: SyncClientOptions) {
    this.#o = options;
    this.#runtime = options.runtime ?? REAL_RUNTIME;
    this.#batchSize = this.#maxBatch;
    this.#acks = new AckPacer(
      this.#runtime,
      options.ackIntervalMs ?? 1000,
      () => this.#state?.cursor ?? null,
      // must: only a cursor whose changes are applied (and written) is acknowledged.
      (cursor) => this.#socket?.send({ type: "ack", cursor }) ?? false,
    );
    this.#api = new SyncApi({
      baseUrl: options.baseUrl,
      token: options.deviceToken,
      fetch: options.fetch,
      timeoutMs: options.requestTimeoutMs,
      runtime: this.#runtime,
    });
    this.#socket = options.realtime === false ? null : new SyncSocket({
      baseUrl: options.baseUrl,
      token: options.deviceToken,
      cursor: () => this.#state?.cursor ?? null,
      onMessage: (message) => this.#onMessage(message),
      onOpen: () => {
        this.#acks.reset();
        this.#setStatus({ socket: "open" });
        this.#acks.offer();
      },
      onClose: () => this.#setStatus({ socket: "closed" }),
      onUnauthorized: () => void this.#halt("unauthorized"),
      webSocket: options.webSocket,
      runtime: this.#runtime,
      backoff: options.backoff,
      pingEveryMs: options.pingEveryMs,
    });
  }

  /** The latest status (also sent as `status` events when it changes). */
  get status(): StatusEvent {
    return { ...this.#status, queued: this.#state?.queued ?? 0 };
  }

  /** The cursor of the last applied pull; null before the first. */
  get cursor(): string | null {
    return this.#state?.cursor ?? null;
  }

  /**
   * Loads the store, then pulls from the stored cursor, opens the socket and sends the
   * queue. Resolves once the first pull is done or has failed once (it is retried in the
   * background); rejects with the `SyncApiError` when the token is refused.
   */
  start(): Promise<void> {
    return this.#starting ??= this.#start().finally(() => this.#starting = null);
  }

  async #start(): Promise<void> {
    if (!this.#halting) return;
    await this.#halting;
    this.#halting = null;
    this.#abort = new AbortController();
    this.#setStatus({ state: "starting", error: undefined, retryInMs: undefined });
    try {
      this.#state = new LocalState(await this.#o.store.load());
    } catch (error) {
      this.#halting = Promise.resolve();
      this.#setStatus({
        state: "stopped",
        error: `The store could not be loaded: ${describe(error)}`,
      });
      throw error;
    }
    this.#firstPull = Promise.withResolvers();
    this.#pullWanted = true;
    this.#loops = [this.#pushLoop(), this.#pullLoop()];
    this.#socket?.start();
    const failure = await this.#firstPull.promise;
    if (failure instanceof SyncApiError && failure.status === 401) throw failure;
    // The socket's 4401 can halt the client before the first pull answers its own 401.
    if (this.#status.state === "unauthorized") {
      throw new SyncApiError(
        401,
        "UNAUTHORIZED",
        "The device token was refused (socket closed with 4401)",
      );
    }
  }

  /** Applies an upsert locally at once and queues it; answers its `change_id`. */
  put(collection: string, id: string, data: Record<string, unknown>): string {
    const state = this.#ready(collection, id);
    const changeId = crypto.randomUUID();
    this.#commit(state.put(collection, id, data, this.#runtime.now(), changeId));
    this.#pushWake?.();
    return changeId;
  }

  /**
   * Deletes locally at once and queues the delete; answers its `change_id`. An item the
   * server never stored is dropped with its unsent changes and nothing is sent (null), as
   * is a delete of an unknown or already deleted item.
   */
  delete(collection: string, id: string): string | null {
    const state = this.#ready(collection, id);
    const step = state.delete(collection, id, this.#runtime.now(), crypto.randomUUID());
    this.#commit(step);
    this.#checkFlush();
    this.#pushWake?.();
    return step.changeId;
  }

  /** The live item, or undefined (never stored, or deleted). */
  get(collection: string, id: string): Item | undefined {
    return this.#loaded().get(collection, id);
  }

  /** The live items of a collection, oldest change first. */
  list(collection: string): Item[] {
    return this.#loaded().list(collection);
  }

  /**
   * Resolves when every change queued so far has been answered by the server (and the
   * answers are stored). Waits through outages; rejects if the client stops first.
   */
  flush(): Promise<void> {
    const state = this.#loaded();
    return this.#wait(this.#flushWaiters, state.lastSeq, state.answeredUpTo(state.lastSeq));
  }

  /** Pulls everything after the cursor; resolves once a pull started after this call is applied. */
  pull(): Promise<void> {
    this.#loaded();
    const done = this.#wait(this.#pullWaiters, this.#pullsStarted + 1, false);
    this.#requestPull();
    return done;
  }

  /** Open (or resolved) manual conflicts of this user. */
  conflicts(status: "open" | "resolved" = "open"): Promise<ConflictView[]> {
    return this.#api.conflicts(status);
  }

  /** Resolves a manual conflict, then pulls the resulting version. */
  async resolve(
    conflictId: string,
    resolution: Resolution,
    options: ResolveOptions = {},
  ): Promise<void> {
    await this.#api.resolve(conflictId, { resolution, ...options });
    await this.pull();
  }

  /**
   * The network is back (a browser's `online` event, an app's reachability callback):
   * retry now instead of waiting out the backoff.
   */
  wake(): void {
    this.#retryWake.abort();
    this.#retryWake = new AbortController();
    this.#socket?.retryNow();
  }

  on<K extends keyof SyncClientEvents>(
    event: K,
    handler: (payload: SyncClientEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, handler);
  }

  /** Closes the socket, ends the loops, waits for the store and closes it. */
  stop(): Promise<void> {
    return this.#halt("stopped");
  }

  get #maxBatch(): number {
    return Math.min(MAX_BATCH, Math.max(1, this.#o.batchSize ?? MAX_BATCH));
  }

  #halt(state: "stopped" | "unauthorized"): Promise<void> {
    return this.#halting ??= (async () => {
      this.#abort.abort();
      this.#setStatus({ state });
      this.#socket?.stop();
      this.#acks.stop();
      this.#pushWake?.();
      this.#pullWake?.();
      const reason = new Error(`SyncClient ${state}`);
      this.#flushWaiters.rejectAll(reason);
      this.#pullWaiters.rejectAll(reason);
      this.#firstPull?.resolve(null);
      await Promise.all(this.#loops);
      await this.#writes;
      await this.#o.store.close();
      this.#setStatus({ socket: "closed" });
    })();
  }

  #ready(collection: string, id: string): LocalState {
    if (!(COLLECTIONS as readonly string[]).includes(collection)) {
      throw new TypeError(`Unknown collection: ${JSON.stringify(collection)}`);
    }
    if (!ITEM_ID.test(id)) {
      throw new TypeError(`Item ids are 1-128 chars of [A-Za-z0-9._:-]: got ${JSON.stringify(id)}`);
    }
    if (!this.#running()) {
      throw new Error("SyncClient is stopped: start() it, or a new one on the same store, first");
    }
    return this.#loaded();
  }

  #loaded(): LocalState {
    if (!this.#state) throw new Error("SyncClient: call start() first");
    return this.#state;
  }

  #running(): boolean {
    return this.#halting === null;
  }

  /** Writes a step to the store (in order) and tells the app. */
  #commit(step: Step): void {
    const { write } = step;
    this.#writes = this.#writes.then(() => this.#o.store.write(write)).catch((error) => {
      this.#setStatus({ error: `The store refused a write: ${describe(error)}` });
    });
    for (const event of step.events) this.#events.emit("change", event);
  }

  async #pushLoop(): Promise<void> {
    let attempt = 0;
    while (this.#running()) {
      const state = this.#state!;
      const batch = state.nextBatch(this.#batchSize);
      if (!batch) {
        await new Promise<void>((resolve) => this.#pushWake = resolve);
        this.#pushWake = null;
        continue;
      }
      try {
        const answer = await this.#api.push(batch.wire, this.#abort.signal);
        attempt = 0;
        this.#batchSize = this.#maxBatch;
        this.#online();
        this.#settled(state.settle(batch.changes, answer.results));
      } catch (error) {
        state.release();
        if (!this.#running() || isAbort(error)) return;
        if (error instanceof SyncApiError && error.status === 401) {
          return void this.#halt("unauthorized");
        }
        if (!refusesBody(error)) {
          // Retryable, 402 (writes wait for a renewal) or anything unexpected: the queue is
          // the user's data, so it waits rather than being dropped.
          await this.#retryLater(error, attempt++);
        } else if (batch.changes.length > 1) {
          // The body was refused as a whole: halve until the culprit stands alone.
          this.#batchSize = Math.ceil(batch.changes.length / 2);
        } else {
          this.#settled(state.reject(batch.changes, (error as SyncApiError).toWire()));
        }
      }
    }
  }

  #settled(settled: Settled): void {
    this.#commit(settled);
    for (const rejected of settled.rejected) this.#events.emit("rejected", rejected);
    for (const id of settled.conflicts) void this.#reportConflict(id);
    if (settled.needsPull) this.#requestPull();
    this.#checkFlush();
  }

  async #pullLoop(): Promise<void> {
    let attempt = 0;
    while (this.#running()) {
      if (!this.#pullWanted) {
        await new Promise<void>((resolve) => this.#pullWake = resolve);
        this.#pullWake = null;
        continue;
      }
      this.#pullWanted = false;
      const number = ++this.#pullsStarted;
      try {
        await this.#pullAll();
        attempt = 0;
        this.#online();
        this.#firstPull?.resolve(null);
        this.#pullWaiters.settle((until) => until <= number, this.#writes);
        this.#acks.offer();
      } catch (error) {
        this.#firstPull?.resolve(error instanceof Error ? error : new Error(String(error)));
        if (!this.#running() || isAbort(error)) return;
        if (error instanceof SyncApiError && error.status === 401) {
          return void this.#halt("unauthorized");
        }
        if (isRetryable(error)) {
          this.#pullWanted = true;
          await this.#retryLater(error, attempt++);
        } else {
          // Not worth repeating as is: the callers hear why; the next request tries again.
          const reason = error instanceof Error ? error : new Error(String(error));
          this.#pullWaiters.settle((until) => until <= number, this.#writes, reason);
          this.#setStatus({ error: describe(error) });
        }
      }
    }
  }

  async #pullAll(): Promise<void> {
    const state = this.#state!;
    for (;;) {
      const since = state.cursor;
      let page: PullResponse;
      try {
        page = await this.#api.pull({ since, limit: this.#pullLimit }, this.#abort.signal);
      } catch (error) {
        // 410: older than the compaction horizon; 422: a cursor the server never issued
        // (its data was restored from a backup). Either way only a full pull is right.
        if (
          error instanceof SyncApiError &&
          (error.status === 410 || (error.status === 422 && since !== null))
        ) {
          return await this.#resync();
        }
        throw error;
      }
      this.#commit(state.applyPulled(page.changes, page.cursor));
      if (!page.has_more) return;
    }
  }

  async #resync(): Promise<void> {
    const pulled = [];
    let cursor: string | null = null;
    for (;;) {
      const page = await this.#api.pull(
        { since: cursor, limit: this.#pullLimit },
        this.#abort.signal,
      );
      pulled.push(...page.changes);
      cursor = page.cursor;
      if (!page.has_more) break;
    }
    this.#commit(this.#state!.replaceAll(pulled, cursor));
  }

  get #pullLimit(): number {
    return Math.min(MAX_PULL_LIMIT, Math.max(1, this.#o.pullLimit ?? MAX_PULL_LIMIT));
  }

  #requestPull(): void {
    this.#pullWanted = true;
    this.#pullWake?.();
  }

  async #retryLater(error: unknown, attempt: number): Promise<void> {
    const retryAfter = error instanceof SyncApiError ? error.retryAfterMs : undefined;
    const delay = backoffDelay(
      attempt,
      this.#o.backoff ?? DEFAULT_BACKOFF,
      this.#runtime.random,
      retryAfter,
    );
    const expired = error instanceof SyncApiError && error.status === 402;
    this.#setStatus({
      state: expired ? "expired" : "offline",
      error: describe(error),
      retryInMs: delay,
    });
    await sleep(
      this.#runtime,
      delay,
      AbortSignal.any([this.#abort.signal, this.#retryWake.signal]),
    );
  }

  #online(): void {
    if (this.#status.state !== "online" && this.#running()) {
      this.#setStatus({ state: "online", error: undefined, retryInMs: undefined });
    }
  }

  #onMessage(message: ServerMessage): void {
    if (message.type === "sync_data_available") this.#requestPull();
    else if (message.type === "sync_conflict") void this.#reportConflict(message.conflict_id);
  }

  /**
   * Emits `conflict` once this device shows the server's side of it: the push answer (or
   * the socket's word) comes before the pull that brings that side, and a handler that
   * reads the item, or keeps its local edit, must not see the edit the server held back.
   */
  async #reportConflict(conflictId: string): Promise<void> {
    if (this.#reported.has(conflictId)) return;
    this.#reported.add(conflictId);
    // Failing only when the client stops (checked below) or the pull cannot be repeated.
    const caughtUp = this.pull().catch(() => {});
    let conflict: ConflictView | undefined;
    try {
      conflict = (await this.#api.conflicts("open")).find((c) => c.id === conflictId);
    } catch {
      // Told again by the next sync_conflict or push answer, or listed by conflicts().
      this.#reported.delete(conflictId);
      return;
    }
    if (!conflict) return;
    await caughtUp;
    if (!this.#running()) return;
    this.#events.emit(
      "conflict",
      conflictEvent(
        conflict,
        (resolution, options) => this.resolve(conflictId, resolution, options),
      ),
    );
  }

  #wait(waiters: Waiters, until: number, done: boolean): Promise<void> {
    if (done) return this.#writes;
    if (!this.#running()) return Promise.reject(new Error("SyncClient is not running"));
    return waiters.add(until);
  }

  #checkFlush(): void {
    const state = this.#state!;
    this.#flushWaiters.settle((until) => state.answeredUpTo(until), this.#writes);
  }

  #setStatus(change: Partial<StatusEvent>): void {
    const next = { ...this.#status, ...change };
    const same = next.state === this.#status.state && next.socket === this.#status.socket &&
      next.error === this.#status.error;
    this.#status = next;
    if (!same) this.#events.emit("status", this.status);
  }
}

/** The service refused the request's body itself: sending it again cannot succeed. */
function refusesBody(error: unknown): boolean {
  return error instanceof SyncApiError && [400, 413, 422].includes(error.status);
}
