import pg from "pg";
import { ReplicationError } from "./replication_error.ts";
import { type SqlSession, tryHolderLock } from "./slot.ts";

/** The pg `Client` surface the lock uses. */
interface Session extends SqlSession {
  connect(): Promise<void>;
  end(): Promise<void>;
  on(event: "error" | "end", listener: (error?: unknown) => void): void;
  removeAllListeners(): void;
}

/**
 * The Postgres session advisory lock that makes one instance the slot holder, on a
 * dedicated connection that never reconnects by itself: the lock lives exactly as long
 * as that session, so a holder that dies (or whose connection drops) frees it at once,
 * and `onLost` tells this instance it no longer holds it.
 */
export class HolderLock {
  #session: Session | null = null;
  #held = false;

  constructor(
    readonly databaseUrl: string,
    readonly slot: string,
    readonly onLost: (error: ReplicationError) => void,
  ) {}

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
    if (!this.#held) this.#held = await tryHolderLock(session, this.slot);
    return this.#held;
  }

  /** Ends the session, which releases the lock: a standby takes over at once. */
  async release(): Promise<void> {
    const session = this.#session;
    this.#session = null;
    this.#held = false;
    if (session) await quietEnd(session);
  }

  async #open(): Promise<Session> {
    const session: Session = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: "devpocket-sync-replication-lock",
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    const lost = (error?: unknown) => this.#lost(session, error);
    session.on("error", lost);
    session.on("end", lost);
    try {
      await session.connect();
    } catch (error) {
      await quietEnd(session);
      throw error;
    }
    this.#session = session;
    return session;
  }

  #lost(session: Session, error?: unknown): void {
    if (this.#session !== session) return;
    const wasHeld = this.#held;
    this.#session = null;
    this.#held = false;
    void quietEnd(session);
    if (wasHeld) {
      this.onLost(
        new ReplicationError("lock_lost", "The holder lock session ended", { cause: error }),
      );
    }
  }
}

async function quietEnd(session: Session): Promise<void> {
  session.removeAllListeners();
  // pg throws an 'error' event nobody listens to; this one is already handled.
  session.on("error", () => {});
  await session.end().catch(() => {});
}
