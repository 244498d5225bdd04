import pg from "pg";
import type { Logger } from "../logger.ts";
import { ReplicationError } from "./replication_error.ts";
import { sessionConfig } from "./session.ts";
import { type SqlSession, tryHolderLock } from "./slot.ts";
import { settledWithin, TIMED_OUT } from "../time_limit.ts";

/** The pg `Client` surface the lock uses. */
interface Session extends SqlSession {
  connect(): Promise<void>;
  end(): Promise<void>;
  on(event: "error" | "end", listener: (error?: unknown) => void): void;
  removeAllListeners(): void;
}

/** Options of {@link HolderLock}. */
export interface HolderLockOptions {
  databaseUrl: string;
  slot: string;
  /**
   * The lock session's `idle_session_timeout`: the server ends it (and so frees the lock)
   * this long after the last round trip, so a holder that stopped (SIGSTOP, a paused VM,
   * a cut network) is replaced. The session is pinged every third of it.
   */
  timeoutMs: number;
  /** This instance no longer holds the lock (it held it until now). */
  onLost: (error: ReplicationError) => void;
  logger: Pick<Logger, "warn">;
  clock?: () => number;
}

/**
 * The Postgres session advisory lock that makes one instance the slot holder, on a
 * dedicated connection that never reconnects by itself: the lock lives exactly as long
 * as that session, so a holder that dies, freezes or is cut off frees it (at once, or
 * after `timeoutMs` of silence), and `onLost` tells this instance it no longer holds it.
 */
export class HolderLock {
  readonly #options: HolderLockOptions;
  readonly #clock: () => number;
  #session: Session | null = null;
  #held = false;
  /**
   * When the last round trip that was answered had been sent. The server cannot have ended
   * the session for idleness before this plus `timeoutMs`.
   */
  #contactAt = -Infinity;
  #pinging: Promise<boolean> | null = null;
  #pinger: ReturnType<typeof setInterval> | undefined;

  constructor(options: HolderLockOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** The open session (also used for slot queries), or null between connections. */
  get session(): SqlSession | null {
    return this.#session;
  }

  get held(): boolean {
    return this.#held;
  }

  /** Opens the session if needed and takes the lock unless another session has it. */
  async tryAcquire(): Promise<boolean> {
    const session = this.#session ?? await this.#open();
    if (!this.#held) {
      const sentAt = this.#clock();
      this.#held = await tryHolderLock(session, this.#options.slot);
      this.#contactAt = Math.max(this.#contactAt, sentAt);
    }
    return this.#held;
  }

  /**
   * True while this instance certainly still holds the lock: at once when the last answered
   * round trip is recent, else after a new one. A holder that was frozen or cut off for
   * long enough to be replaced learns it here before it publishes anything more.
   */
  verify(): Promise<boolean> {
    if (!this.#held) return Promise.resolve(false);
    // Two thirds of the timeout: the rest is the margin for what the caller does next.
    if (this.#clock() - this.#contactAt < (this.#options.timeoutMs * 2) / 3) {
      return Promise.resolve(true);
    }
    return this.#ping();
  }

  /** Ends the session, which releases the lock: a standby takes over at once. */
  async release(): Promise<void> {
    const session = this.#session;
    this.#forget();
    if (session) await quietEnd(session);
  }

  async #open(): Promise<Session> {
    const { databaseUrl, timeoutMs, logger } = this.#options;
    const session: Session = new pg.Client(
      sessionConfig(databaseUrl, "devpocket-sync-replication-lock", timeoutMs),
    );
    const lost = (error?: unknown) => this.#lost(session, error);
    session.on("error", lost);
    session.on("end", lost);
    try {
      await session.connect();
      await session.query(`set idle_session_timeout = ${Math.round(timeoutMs)}`).catch((error) => {
        if ((error as { code?: string }).code !== "42704") throw error;
        logger.warn(
          "replication: Postgres before 14 has no idle_session_timeout; a frozen holder keeps " +
            "the slot until its connection dies",
        );
      });
    } catch (error) {
      await quietEnd(session);
      throw error;
    }
    this.#session = session;
    this.#pinger = setInterval(() => void this.#ping(), timeoutMs / 3);
    return session;
  }

  /** One round trip at a time; false (and the session ended) when it fails or hangs. */
  #ping(): Promise<boolean> {
    return this.#pinging ??= this.#roundTrip().finally(() => this.#pinging = null);
  }

  async #roundTrip(): Promise<boolean> {
    const session = this.#session;
    if (!session) return false;
    const { timeoutMs } = this.#options;
    const sentAt = this.#clock();
    try {
      if (await settledWithin(session.query("select 1"), timeoutMs) === TIMED_OUT) {
        throw new Error(`The lock session did not answer within ${timeoutMs} ms`);
      }
      if (this.#session !== session) return false;
      this.#contactAt = Math.max(this.#contactAt, sentAt);
      return this.#held;
    } catch (error) {
      this.#lost(session, error);
      return false;
    }
  }

  #lost(session: Session, error?: unknown): void {
    if (this.#session !== session) return;
    const wasHeld = this.#held;
    this.#forget();
    void quietEnd(session);
    if (wasHeld) {
      this.#options.onLost(
        new ReplicationError("lock_lost", "The holder lock session ended", { cause: error }),
      );
    }
  }

  #forget(): void {
    clearInterval(this.#pinger);
    this.#pinger = undefined;
    this.#session = null;
    this.#held = false;
    this.#contactAt = -Infinity;
  }
}

/** Ends a session whatever state it is in, without waiting long for a server that is gone. */
async function quietEnd(session: Session): Promise<void> {
  session.removeAllListeners();
  // pg throws an 'error' event nobody listens to; this one is already handled.
  session.on("error", () => {});
  await settledWithin(session.end().catch(() => {}), 1_000);
}
