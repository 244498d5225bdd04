import { createClient } from "redis";
import type { Bus } from "./bus.ts";
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import { type BusLogger, silentLogger } from "./bus_logger.ts";

/** Options of {@linkcode RedisBus.connect}. */
export interface RedisBusOptions {
  /** Receives connection errors the bus recovers from; silent by default. */
  logger?: BusLogger;
  /** Delays between reconnect attempts. */
  backoff?: Partial<BackoffOptions>;
  /** How long `connect` waits for Redis before it gives up (default 10 s). */
  connectTimeoutMs?: number;
  /** `CLIENT SETNAME` of both connections, to find them in `CLIENT LIST`. */
  clientName?: string;
}

type Client = ReturnType<typeof newClient>;
type Listener = (message: string) => void;
interface Handler {
  onMessage: (message: string) => void;
  onResumed?: () => void;
}

/**
 * The bus on a self-hosted Redis over TCP: one connection publishes, a second one is
 * dedicated to subscriptions (a connection in subscriber mode runs no other command).
 *
 * Both connections reconnect with backoff; node-redis re-issues SUBSCRIBE for every
 * channel on the new socket, and handlers live in this bus, so they survive it. Once the
 * channels are subscribed again, each one's `onResumed` runs: what was published while
 * the subscriber was away is lost (pub/sub keeps nothing), and the subscriber must learn
 * it by other means.
 * `publish` never queues while Redis is away: it rejects, and the replication listener
 * holds its acknowledgement and retries.
 *
 * @example
 * ```ts ignore
 * const bus = await RedisBus.connect("redis://127.0.0.1:6379");
 * await bus.subscribe("sync:user:42", (message) => console.log(message));
 * await bus.publish("sync:user:42", JSON.stringify({ type: "sync_data_available" }));
 * await bus.close();
 * ```
 */
export class RedisBus implements Bus {
  readonly kind = "redis";
  #publisher: Client;
  #subscriber: Client;
  #logger: BusLogger;
  #reconnects: ReconnectClock;
  #handlers = new Map<string, Handler>();
  /** Each channel's node-redis listener (unsubscribing names it) and its SUBSCRIBE. */
  #subscriptions = new Map<string, { listener: Listener; active: Promise<void> }>();
  #closed = false;
  /** The subscriber was ready once: every later `ready` follows a reconnect. */
  #subscriberWasReady = false;

  private constructor(
    publisher: Client,
    subscriber: Client,
    logger: BusLogger,
    reconnects: ReconnectClock,
  ) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#logger = logger;
    this.#reconnects = reconnects;
    // node-redis emits `ready` only once the SUBSCRIBEs of the reconnect were answered.
    subscriber.on("ready", () => this.#onSubscriberReady());
  }

  /**
   * Opens both connections; rejects when Redis does not answer within
   * `connectTimeoutMs`, after releasing everything it opened.
   */
  static async connect(url: string, options: RedisBusOptions = {}): Promise<RedisBus> {
    const logger = options.logger ?? silentLogger;
    const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const reconnects = new ReconnectClock();
    const reconnectStrategy = (retries: number) =>
      reconnects.schedule(backoffDelay(retries, backoff));
    const publisher = newClient(url, options.clientName, reconnectStrategy);
    const subscriber = newClient(url, options.clientName, reconnectStrategy);
    // node-redis emits 'error' for every dropped socket and failed attempt; an 'error'
    // event without a listener would crash the process.
    for (
      const [client, connection] of [[publisher, "publish"], [subscriber, "subscribe"]] as const
    ) {
      client.on(
        "error",
        (error: unknown) =>
          logger.warn("Redis bus connection error", { connection, error: describe(error) }),
      );
    }
    const bus = new RedisBus(publisher, subscriber, logger, reconnects);
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const connected = Promise.all([publisher.connect(), subscriber.connect()]);
    // Settled either way; after a timeout `close()` makes it reject with ClientClosedError.
    connected.catch(() => {});
    try {
      if (await Promise.race([connected, timedOut]) === "timeout") {
        throw new Error(`Redis at ${redact(url)} did not answer within ${timeoutMs} ms`);
      }
    } catch (error) {
      await bus.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return bus;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    try {
      await this.#publisher.publish(channel, message);
    } catch (error) {
      throw new Error(`Redis publish to "${channel}" failed: ${describe(error)}`, { cause: error });
    }
  }

  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    this.#assertOpen();
    this.#handlers.set(channel, { onMessage, onResumed });
    const existing = this.#subscriptions.get(channel);
    if (existing) return await existing.active;
    if (!this.#subscriber.isReady) {
      this.#handlers.delete(channel);
      throw new Error(`Redis is not connected: cannot subscribe to "${channel}"`);
    }
    const listener: Listener = (message) => this.#deliver(channel, message);
    const active = this.#subscriber.subscribe(channel, listener).catch((error: unknown) => {
      if (this.#subscriptions.get(channel)?.listener === listener) {
        this.#subscriptions.delete(channel);
        this.#handlers.delete(channel);
      }
      throw new Error(`Redis subscribe to "${channel}" failed: ${describe(error)}`, {
        cause: error,
      });
    });
    this.#subscriptions.set(channel, { listener, active });
    await active;
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#handlers.delete(channel);
    const subscription = this.#subscriptions.get(channel);
    if (!subscription || this.#closed) return;
    this.#subscriptions.delete(channel);
    // Naming the listener marks the channel as unsubscribing inside node-redis, so a
    // subscribe issued before this completes sends a fresh SUBSCRIBE instead of being
    // folded into the subscription that is going away.
    const done = this.#subscriber.unsubscribe(channel, subscription.listener).catch((
      error: unknown,
    ) => this.#logger.warn("Redis unsubscribe failed", { channel, error: describe(error) }));
    // Delivery already stopped above; while Redis is away the UNSUBSCRIBE waits for the
    // reconnect, and the caller need not.
    if (this.#subscriber.isReady) await done;
  }

  async ping(): Promise<boolean> {
    if (this.#closed || !this.#subscriber.isReady) return false;
    try {
      return await this.#publisher.ping() === "PONG";
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.#subscriptions.clear();
    this.#publisher.destroy();
    this.#subscriber.destroy();
    // node-redis sleeps between reconnect attempts on a timer it cannot cancel; it gives
    // up after waking because the client is closed. Waiting it out means nothing of this
    // bus is left running once close() resolves.
    await this.#reconnects.settled();
  }

  #deliver(channel: string, message: string): void {
    const handler = this.#handlers.get(channel);
    if (!handler) return;
    // A throw here would unwind into node-redis's reply parser and reset it.
    try {
      handler.onMessage(message);
    } catch (error) {
      this.#logger.warn("Bus handler threw", { channel, error: describe(error) });
    }
  }

  #onSubscriberReady(): void {
    const reconnected = this.#subscriberWasReady;
    this.#subscriberWasReady = true;
    if (!reconnected || this.#closed) return;
    for (const [channel, handler] of this.#handlers) {
      if (!handler.onResumed || !this.#subscriptions.has(channel)) continue;
      try {
        handler.onResumed();
      } catch (error) {
        this.#logger.warn("Bus resume handler threw", { channel, error: describe(error) });
      }
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("RedisBus is closed");
  }
}

/** Remembers when the last reconnect sleep scheduled by node-redis ends (so a close can wait it out). */
export class ReconnectClock {
  #until = 0;

  schedule(delayMs: number): number {
    this.#until = Math.max(this.#until, Date.now() + delayMs);
    return delayMs;
  }

  async settled(): Promise<void> {
    const remaining = this.#until - Date.now();
    if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining + 10));
  }
}

function newClient(
  url: string,
  name: string | undefined,
  reconnectStrategy: (retries: number) => number,
) {
  return createClient({
    url,
    name,
    // must: a publish while Redis is away rejects now instead of waiting in a queue
    disableOfflineQueue: true,
    socket: { reconnectStrategy },
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The URL without its password, for messages and logs. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparsable REDIS_URL>";
  }
}
