import type { Bus } from "../bus/bus.ts";
import { abortableSleep } from "../abortable_sleep.ts";
import { createLogger, type Logger } from "../logger.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { publishCatchUp } from "./publisher.ts";
import {
  isFault,
  ReplicationError,
  type ReplicationErrorKind,
  shouldRetry,
  toReplicationError,
} from "./replication_error.ts";
import { HolderLock } from "./holder_lock.ts";
import { sessionConfig, withSession } from "./session.ts";
import {
  endWalSender,
  ensurePublicationAndSlot,
  readSlotStatus,
  type SqlSession,
  type WalStatus,
} from "./slot.ts";
import { SlotMonitor } from "./slot_monitor.ts";
import { StreamProgress } from "./stream_progress.ts";
import { streamSlot } from "./stream_slot.ts";

/** Where the listener logs; the default writes one JSON line per entry to the console. */
export type ReplicationLogger = Pick<Logger, "info" | "warn" | "error">;

/** Options of {@link ReplicationListener}. */
export interface ReplicationListenerOptions {
  /** Postgres with wal_level=logical (DATABASE_URL). */
  databaseUrl: string;
  /** Slot and publication name (REPLICATION_SLOT): lowercase letters, digits, `_`. */
  slot: string;
  bus: Bus;
  logger?: ReplicationLogger;
  /** How often the holder writes a WAL heartbeat and reads the slot's health. 10 s. */
  heartbeatMs?: number;
  /** How often a standby tries to become the holder, and a busy slot is retried. 1 s. */
  retryMs?: number;
  /** Cap of the exponential backoff after a failed stream. 10 s. */
  maxBackoffMs?: number;
  /**
   * A holder that stops answering (frozen, paused, cut off) loses the lock this long after
   * its last round trip, and a new holder ends a walsender still streaming the slot for an
   * earlier one once it has held the lock this long. 10 s.
   */
  lockTimeoutMs?: number;
}

/** A snapshot for /ready and /metrics. */
export interface ReplicationListenerState {
  role: "holder" | "standby" | "stopped";
  slot: string;
  /** pg_current_wal_lsn() - confirmed_flush_lsn at the last check; null before one. */
  lagBytes: number | null;
  /** Age of the commit being published, or time since the last confirm while behind. */
  lagSeconds: number | null;
  lastAckedLsn: string | null;
  /** "lost" needs an operator: the slot can no longer stream and is not recreated. */
  walStatus: WalStatus | null;
  /** True while a replication stream is open. */
  streaming: boolean;
  lastError: string | null;
  /**
   * What stops every hint until it is fixed (slot lost, misconfigured, dropped, no
   * permission), as this instance sees it while it holds the slot; null once a stream runs.
   */
  fault: { kind: ReplicationErrorKind; message: string } | null;
}

/**
 * Tails the WAL through a logical slot and publishes every committed change as per-user
 * events on the bus, at least once. Many instances may run it: the one holding a Postgres
 * session advisory lock streams, the others stand by and retry every `retryMs`, taking
 * over within seconds of the holder's session ending (within `lockTimeoutMs` when the
 * holder stopped without ending it).
 *
 * @example
 * const listener = new ReplicationListener({ databaseUrl, slot: "devpocket_sync", bus });
 * await listener.start();
 * listener.state().role; // "holder" or "standby"
 * await listener.stop();
 */
export class ReplicationListener implements AsyncDisposable {
  readonly #options: Required<Omit<ReplicationListenerOptions, "logger">>;
  readonly #log: ReplicationLogger;
  #role: ReplicationListenerState["role"] = "stopped";
  #stopping = new AbortController();
  #loops: Promise<unknown> | null = null;
  readonly #lock: HolderLock;
  #heldSince = 0;
  #session: AbortController | null = null;
  #streaming = false;
  /** The slot was recreated: every hub must catch its sockets up before streaming. */
  #catchUpOwed = false;
  readonly #progress = new StreamProgress();
  readonly #monitor: SlotMonitor;
  #lastError: string | null = null;
  #fault: ReplicationError | null = null;

  constructor(options: ReplicationListenerOptions) {
    if (!/^[a-z0-9_]{1,63}$/.test(options.slot)) {
      throw new Error(
        `REPLICATION_SLOT must be 1-63 lowercase letters, digits or "_": got "${options.slot}"`,
      );
    }
    this.#options = {
      databaseUrl: options.databaseUrl,
      slot: options.slot,
      bus: options.bus,
      heartbeatMs: options.heartbeatMs ?? 10_000,
      retryMs: options.retryMs ?? 1_000,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
    };
    this.#log = options.logger ?? consoleLogger;
    this.#lock = new HolderLock({
      databaseUrl: options.databaseUrl,
      slot: options.slot,
      timeoutMs: this.#options.lockTimeoutMs,
      logger: this.#log,
      onLost: (error) => {
        if (this.#stopped) return;
        this.#fail(error);
        this.#role = "standby";
        this.#session?.abort();
      },
    });
    this.#monitor = new SlotMonitor({
      slot: options.slot,
      heartbeatMs: this.#options.heartbeatMs,
      logger: this.#log,
      session: () => this.#lock.session,
      streaming: () => this.#role === "holder" && this.#streaming,
    });
  }

  /** Resolves once this instance is the holder or a standby; it keeps retrying after. */
  async start(): Promise<void> {
    if (this.#loops) return;
    this.#stopping = new AbortController();
    const decided = Promise.withResolvers<void>();
    this.#loops = Promise.all([
      this.#run(decided.resolve),
      this.#monitor.run(this.#stopping.signal),
    ]);
    await decided.promise;
  }

  /** Ends the stream (nothing unpublished is confirmed) and releases the holder lock. */
  async stop(): Promise<void> {
    if (!this.#loops) return;
    this.#stopping.abort();
    this.#session?.abort();
    await this.#loops;
    await this.#lock.release();
    this.#loops = null;
    this.#role = "stopped";
  }

  /** Same as {@link stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Where this instance stands now; cheap (no I/O), for /ready and /metrics. */
  state(): ReplicationListenerState {
    const { lagBytes, walStatus } = this.#monitor;
    const { confirmed } = this.#progress;
    return {
      role: this.#role,
      slot: this.#options.slot,
      lagBytes,
      lagSeconds: this.#progress.lagSeconds(lagBytes),
      lastAckedLsn: confirmed === null ? null : formatLsn(confirmed),
      walStatus,
      streaming: this.#streaming,
      lastError: this.#lastError,
      fault: this.#fault && { kind: this.#fault.kind, message: this.#fault.message },
    };
  }

  /** Become the holder (or wait as standby), then stream until the lock is lost. */
  async #run(decided: () => void): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (!(await this.#lock.tryAcquire())) {
          this.#role = "standby";
          // Faults are the holder's to report: it is the one that sees the slot.
          this.#fault = null;
          decided();
          await this.#sleep(this.#options.retryMs);
          continue;
        }
        if (this.#role !== "holder") {
          this.#log.info("replication: holding the slot", this.#fields);
          this.#heldSince = Date.now();
        }
        this.#role = "holder";
        // Only the lock holder creates, so two instances starting together never race.
        await this.#ensureSlot();
        decided();
        failures = 0;
        await this.#hold(this.#lock.session!);
      } catch (error) {
        const failure = toReplicationError(error);
        this.#fail(failure);
        decided();
        if (this.#stopped) break;
        if (this.#role === "stopped") this.#role = "standby";
        await this.#sleep(
          shouldRetry(failure) ? this.#backoff(failures++) : this.#options.maxBackoffMs * 3,
        );
      }
    }
  }

  /** Streams sessions one after the other while this instance holds the lock. */
  async #hold(lock: SqlSession): Promise<void> {
    let failures = 0;
    while (!this.#stopped && this.#lock.held && this.#lock.session === lock) {
      if (this.#catchUpOwed) {
        await publishCatchUp(this.#options.bus);
        this.#catchUpOwed = false;
      }
      const status = await readSlotStatus(lock, this.#options.slot);
      let failure: ReplicationError | null;
      if (!status) {
        this.#fail(
          new ReplicationError(
            "slot_missing",
            `Replication slot "${this.#options.slot}" was dropped: recreating it`,
          ),
        );
        await this.#ensureSlot();
        continue;
      } else if ((this.#monitor.walStatus = status.walStatus) === "lost") {
        failure = new ReplicationError(
          "slot_lost",
          `Replication slot "${this.#options.slot}" lost the WAL it needs (wal_status lost): ` +
            "drop it and restart the service; devices catch up by pulling",
        );
      } else if (status.activePid !== null) {
        await this.#endStaleWalSender(lock, status.activePid);
        failure = new ReplicationError(
          "slot_in_use",
          `Replication slot "${this.#options.slot}" is still active for PID ${status.activePid}`,
        );
      } else {
        failure = await this.#streamOnce(status.confirmedFlushLsn);
        if (failure === null) return;
        // The backoff starts over only after progress, not whenever a stream starts.
        if (this.#progress.progressed) failures = 0;
      }
      this.#fail(failure);
      let wait: number;
      if (!shouldRetry(failure)) wait = this.#options.maxBackoffMs * 3;
      else if (failure.kind === "slot_in_use") wait = this.#options.retryMs;
      else wait = this.#backoff(failures++);
      await this.#sleep(wait);
    }
  }

  /** Creates what is missing; a slot that had been dropped owes every socket a catch-up. */
  async #ensureSlot(): Promise<void> {
    const setup = await withSession(
      sessionConfig(
        this.#options.databaseUrl,
        "devpocket-sync-replication-setup",
        this.#options.lockTimeoutMs,
      ),
      (db) => ensurePublicationAndSlot(db, this.#options.slot),
    );
    if (setup !== "recreated") return;
    this.#catchUpOwed = true;
    this.#log.error(
      "replication: the slot had been dropped and was recreated; hints of the changes " +
        "committed meanwhile are lost, so every socket is caught up from its cursor",
      this.#fields,
    );
  }

  /**
   * The walsender of a holder that lost its lock but cannot end its stream (frozen, or cut
   * off while the server waits out wal_sender_timeout) would keep the slot from everyone.
   */
  async #endStaleWalSender(lock: SqlSession, pid: number): Promise<void> {
    if (Date.now() - this.#heldSince < this.#options.lockTimeoutMs) return;
    if (await endWalSender(lock, pid)) {
      this.#log.warn("replication: ended the walsender of a holder that lost its lock", {
        ...this.#fields,
        pid,
      });
    }
  }

  async #streamOnce(confirmedFlushLsn: string | null): Promise<ReplicationError | null> {
    const confirmedLsn = confirmedFlushLsn ? parseLsn(confirmedFlushLsn) : 0n;
    this.#progress.opened(confirmedLsn);
    this.#session = new AbortController();
    try {
      return await streamSlot({
        session: sessionConfig(
          this.#options.databaseUrl,
          "devpocket-sync-replication",
          this.#options.lockTimeoutMs,
        ),
        slot: this.#options.slot,
        bus: this.#options.bus,
        confirmedLsn,
        signal: AbortSignal.any([this.#stopping.signal, this.#session.signal]),
        stillHolder: () => this.#lock.verify(),
        // At least 3 s, so a busy event loop is not taken for a dead stream.
        silenceMs: Math.max(3 * this.#options.heartbeatMs, 3_000),
        onStarted: () => {
          this.#streaming = true;
          this.#fault = null;
          this.#progress.started();
          this.#log.info("replication: streaming", {
            ...this.#fields,
            from: confirmedFlushLsn,
          });
        },
        onBegin: (commitTimeMs) => this.#progress.publishing(commitTimeMs),
        onConfirmed: (lsn) => this.#progress.confirmedUpTo(lsn),
      });
    } finally {
      this.#streaming = false;
      this.#progress.closed();
      this.#session = null;
    }
  }

  #fail(error: ReplicationError): void {
    if (this.#stopped) return;
    this.#lastError = `${error.kind}: ${error.message}`;
    if (isFault(error)) this.#fault = error;
    const fields = { ...this.#fields, kind: error.kind, error: error.message };
    if (isFault(error)) this.#log.error("replication: no hint reaches anyone", fields);
    else if (error.kind === "slot_in_use") {
      this.#log.info("replication: slot busy, retrying", fields);
    } else this.#log.warn("replication: stream failed, retrying", fields);
  }

  #backoff(failures: number): number {
    return Math.min(this.#options.maxBackoffMs, 250 * 2 ** Math.min(failures, 10));
  }

  get #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  get #fields(): Record<string, unknown> {
    return { slot: this.#options.slot };
  }

  /** Waits `ms`, or less when the listener stops. */
  #sleep(ms: number): Promise<void> {
    return abortableSleep(ms, this.#stopping.signal);
  }
}

const consoleLogger: ReplicationLogger = createLogger("info");
