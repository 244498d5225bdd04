import type { Bus } from "../bus/bus.ts";
import { abortableSleep } from "../abortable_sleep.ts";
import { createLogger, type Logger } from "../logger.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { ReplicationError, shouldRetry, toReplicationError } from "./replication_error.ts";
import { HolderLock } from "./holder_lock.ts";
import {
  emitHeartbeat,
  ensurePublicationAndSlot,
  readSlotStatus,
  type SqlSession,
  type WalStatus,
} from "./slot.ts";
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
}

/**
 * Tails the WAL through a logical slot and publishes every committed change as per-user
 * events on the bus, at least once. Many instances may run it: the one holding a Postgres
 * session advisory lock streams, the others stand by and retry every `retryMs`, taking
 * over within seconds of the holder's session ending.
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
  #session: AbortController | null = null;
  #streamedOnce = false;
  #streaming = false;
  #confirmed: bigint | null = null;
  #lastConfirmAt: number | null = null;
  #inflightCommitAt: number | null = null;
  #lagBytes: number | null = null;
  #walStatus: WalStatus | null = null;
  #lastError: string | null = null;

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
    };
    this.#log = options.logger ?? consoleLogger;
    this.#lock = new HolderLock(options.databaseUrl, options.slot, (error) => {
      if (this.#stopped) return;
      this.#fail(error);
      this.#role = "standby";
      this.#session?.abort();
    });
  }

  /** Resolves once this instance is the holder or a standby; it keeps retrying after. */
  async start(): Promise<void> {
    if (this.#loops) return;
    this.#stopping = new AbortController();
    const decided = Promise.withResolvers<void>();
    this.#loops = Promise.all([this.#run(decided.resolve), this.#monitor()]);
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
    const now = Date.now();
    let lagSeconds: number | null = null;
    if (this.#inflightCommitAt !== null) lagSeconds = (now - this.#inflightCommitAt) / 1000;
    else if (this.#lagBytes !== null && this.#lagBytes > 0 && this.#lastConfirmAt !== null) {
      lagSeconds = (now - this.#lastConfirmAt) / 1000;
    } else if (this.#lagBytes === 0) lagSeconds = 0;
    return {
      role: this.#role,
      slot: this.#options.slot,
      lagBytes: this.#lagBytes,
      lagSeconds: lagSeconds === null ? null : Math.max(0, lagSeconds),
      lastAckedLsn: this.#confirmed === null ? null : formatLsn(this.#confirmed),
      walStatus: this.#walStatus,
      streaming: this.#streaming,
      lastError: this.#lastError,
    };
  }

  /** Become the holder (or wait as standby), then stream until the lock is lost. */
  async #run(decided: () => void): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (!(await this.#lock.tryAcquire())) {
          this.#role = "standby";
          decided();
          await this.#sleep(this.#options.retryMs);
          continue;
        }
        // Only the lock holder creates, so two instances starting together never race.
        const session = this.#lock.session!;
        await ensurePublicationAndSlot(session, this.#options.slot);
        if (this.#role !== "holder") this.#log.info("replication: holding the slot", this.#fields);
        this.#role = "holder";
        decided();
        failures = 0;
        await this.#hold(session);
      } catch (error) {
        const failure = toReplicationError(error);
        this.#fail(failure);
        decided();
        if (this.#stopped) break;
        if (this.#role === "stopped") this.#role = "standby";
        await this.#sleep(this.#backoff(failures++));
      }
    }
  }

  /** Streams sessions one after the other while this instance holds the lock. */
  async #hold(lock: SqlSession): Promise<void> {
    let failures = 0;
    while (!this.#stopped && this.#lock.held && this.#lock.session === lock) {
      const status = await readSlotStatus(lock, this.#options.slot);
      let failure: ReplicationError | null;
      if (!status) {
        failure = new ReplicationError(
          "slot_missing",
          `Replication slot "${this.#options.slot}" was dropped; restart the service to recreate it`,
        );
      } else if ((this.#walStatus = status.walStatus) === "lost") {
        failure = new ReplicationError(
          "slot_lost",
          `Replication slot "${this.#options.slot}" lost the WAL it needs (wal_status lost): ` +
            "drop it and restart the service; devices catch up by pulling",
        );
      } else if (status.activePid !== null) {
        // The previous holder's walsender has not exited yet.
        failure = new ReplicationError(
          "slot_in_use",
          `Replication slot "${this.#options.slot}" is still active for PID ${status.activePid}`,
        );
      } else {
        failure = await this.#streamOnce(status.confirmedFlushLsn);
        if (failure === null) return;
        failures = this.#streamedOnce ? 0 : failures;
      }
      this.#fail(failure);
      let wait: number;
      if (!shouldRetry(failure)) wait = this.#options.maxBackoffMs * 3;
      else if (failure.kind === "slot_in_use") wait = this.#options.retryMs;
      else wait = this.#backoff(failures++);
      await this.#sleep(wait);
    }
  }

  async #streamOnce(confirmedFlushLsn: string | null): Promise<ReplicationError | null> {
    const confirmedLsn = confirmedFlushLsn ? parseLsn(confirmedFlushLsn) : 0n;
    this.#confirmed = confirmedLsn;
    this.#session = new AbortController();
    this.#streamedOnce = false;
    try {
      return await streamSlot({
        databaseUrl: this.#options.databaseUrl,
        slot: this.#options.slot,
        bus: this.#options.bus,
        confirmedLsn,
        signal: AbortSignal.any([this.#stopping.signal, this.#session.signal]),
        onStarted: () => {
          this.#streaming = this.#streamedOnce = true;
          this.#lastConfirmAt ??= Date.now();
          this.#log.info("replication: streaming", {
            ...this.#fields,
            from: confirmedFlushLsn,
          });
        },
        onBegin: (commitTimeMs) => {
          this.#inflightCommitAt = Math.min(commitTimeMs, Date.now());
        },
        onConfirmed: (lsn) => {
          this.#confirmed = lsn;
          this.#lastConfirmAt = Date.now();
          this.#inflightCommitAt = null;
        },
      });
    } finally {
      this.#streaming = false;
      this.#inflightCommitAt = null;
      this.#session = null;
    }
  }

  /** Heartbeat and slot health, every `heartbeatMs`, on whichever role holds a session. */
  async #monitor(): Promise<void> {
    while (!this.#stopped) {
      await this.#sleep(this.#options.heartbeatMs);
      const lock = this.#lock.session;
      if (this.#stopped || !lock) continue;
      try {
        if (this.#role === "holder" && this.#streaming) await emitHeartbeat(lock);
        const status = await readSlotStatus(lock, this.#options.slot);
        if (!status) continue;
        this.#lagBytes = status.lagBytes;
        if (status.walStatus !== this.#walStatus) {
          const fields = {
            ...this.#fields,
            walStatus: status.walStatus,
            lagBytes: status.lagBytes,
          };
          if (status.walStatus === "unreserved") {
            this.#log.warn("replication: slot WAL is unreserved and may be removed", fields);
          } else if (status.walStatus === "lost") {
            this.#log.error(
              "replication: slot lost its WAL; events stop until it is recreated",
              fields,
            );
          }
        }
        this.#walStatus = status.walStatus;
      } catch (error) {
        // The lock session reports its own loss; a failed check only costs freshness.
        this.#log.warn("replication: slot health check failed", {
          ...this.#fields,
          error: toReplicationError(error).message,
        });
      }
    }
  }

  #fail(error: ReplicationError): void {
    if (this.#stopped) return;
    this.#lastError = `${error.kind}: ${error.message}`;
    const fields = { ...this.#fields, kind: error.kind, error: error.message };
    if (!shouldRetry(error)) this.#log.error("replication: slot needs an operator", fields);
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
