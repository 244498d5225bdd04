import { createClient } from "redis";
import type { Bus } from "./bus.ts";
import { busFailure, describe } from "./bus_failure.ts";
import { type BusLogger, silentLogger } from "./bus_logger.ts";
import {
  ChannelSubscriptions,
  connectWithin,
  type NodeRedisBusOptions,
  ReconnectClock,
  redact,
  UNTIMED_COMMANDS,
} from "./node_redis.ts";

/** Options of {@linkcode RedisBus.connect}. */
export interface RedisBusOptions extends NodeRedisBusOptions {
  /** `CLIENT SETNAME` of both connections, to find them in `CLIENT LIST`. */
  clientName?: string;
}

type Client = ReturnType<typeof newClient>;

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
  #channels: ChannelSubscriptions;
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
    this.#channels = new ChannelSubscriptions(logger, "Redis");
    // node-redis emits `ready` only once the SUBSCRIBEs of the reconnect were answered.
    subscriber.on("ready", () => this.#onSubscriberReady());
  }

  /**
   * Opens both connections; rejects when Redis does not answer within
   * `connectTimeoutMs`, after releasing everything it opened.
   */
  static async connect(url: string, options: RedisBusOptions = {}): Promise<RedisBus> {
    const logger = options.logger ?? silentLogger;
    const reconnects = new ReconnectClock(options.backoff);
    const publisher = newClient(url, options.clientName, reconnects.strategy);
    const subscriber = newClient(url, options.clientName, reconnects.strategy);
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
    try {
      await connectWithin(
        Promise.all([publisher.connect(), subscriber.connect()]),
        options.connectTimeoutMs ?? 10_000,
        `Redis at ${redact(url)}`,
      );
    } catch (error) {
      await bus.close();
      throw error;
    }
    return bus;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    try {
      await this.#publisher.publish(channel, message);
    } catch (error) {
      throw busFailure("Redis", "publish", channel, error);
    }
  }

  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    this.#assertOpen();
    await this.#channels.subscribe(channel, { onMessage, onResumed }, (listener) => {
      if (!this.#subscriber.isReady) throw new Error("Redis is not connected");
      return this.#subscriber.subscribe(channel, listener);
    });
  }

  async unsubscribe(channel: string): Promise<void> {
    const listener = this.#channels.take(channel);
    if (!listener || this.#closed) return;
    // Naming the listener marks the channel as unsubscribing inside node-redis, so a
    // subscribe issued before this completes sends a fresh SUBSCRIBE instead of being
    // folded into the subscription that is going away.
    const done = this.#subscriber.unsubscribe(channel, listener).catch((
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
    this.#channels.clear();
    this.#publisher.destroy();
    this.#subscriber.destroy();
    // node-redis sleeps between reconnect attempts on a timer it cannot cancel; it gives
    // up after waking because the client is closed. Waiting it out means nothing of this
    // bus is left running once close() resolves.
    await this.#reconnects.settled();
  }

  #onSubscriberReady(): void {
    const reconnected = this.#subscriberWasReady;
    this.#subscriberWasReady = true;
    if (!reconnected || this.#closed) return;
    this.#channels.resume();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("RedisBus is closed");
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
    commandOptions: UNTIMED_COMMANDS,
    socket: { reconnectStrategy },
  });
}
