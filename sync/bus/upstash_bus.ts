import { Redis } from "@upstash/redis";
import type { Bus } from "./bus.ts";
import { type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import { busFailure } from "./bus_failure.ts";
import { type BusLogger, silentLogger } from "./bus_logger.ts";
import { KEEPALIVE_MESSAGE, UpstashSubscription } from "./upstash_subscription.ts";

/** Options of {@linkcode UpstashBus}. */
export interface UpstashBusOptions {
  /** Receives stream failures the bus recovers from; silent by default. */
  logger?: BusLogger;
  /** Delays between attempts to open a dropped event stream again. */
  backoff?: Partial<BackoffOptions>;
  /** How long `subscribe` waits for the service to confirm (default 10 s). */
  confirmTimeoutMs?: number;
  /**
   * An event stream silent for this long is opened again (default 60 s); an idle one is
   * kept alive by one PUBLISH of a keepalive per half of it.
   */
  readTimeoutMs?: number;
  /** Retries of a REST request that failed on the network before it rejects (default 2). */
  retries?: number;
}

/**
 * The bus on Upstash Redis over HTTP, for edge deployments without TCP: `publish` is the
 * REST `PUBLISH` command through @upstash/redis, each subscribed channel is one
 * server-sent event stream (see {@linkcode UpstashSubscription}) that is opened again
 * with backoff when it ends.
 *
 * @example
 * ```ts ignore
 * const bus = new UpstashBus("https://eu1-example.upstash.io", token);
 * await bus.subscribe("sync:user:42", (message) => console.log(message));
 * await bus.publish("sync:user:42", JSON.stringify({ type: "sync_data_available" }));
 * await bus.close();
 * ```
 */
export class UpstashBus implements Bus {
  readonly kind = "upstash";
  #redis: Redis;
  #url: string;
  #token: string;
  #logger: BusLogger;
  #backoff: BackoffOptions;
  #confirmTimeoutMs: number;
  #readTimeoutMs: number;
  #subscriptions = new Map<string, UpstashSubscription>();
  #closed = false;

  constructor(url: string, token: string, options: UpstashBusOptions = {}) {
    if (!/^https?:\/\//.test(url)) {
      throw new Error(`UPSTASH_REDIS_REST_URL must be an http(s):// URL: got "${url}"`);
    }
    this.#url = url.replace(/\/+$/, "");
    this.#token = token;
    this.#logger = options.logger ?? silentLogger;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#confirmTimeoutMs = options.confirmTimeoutMs ?? 10_000;
    this.#readTimeoutMs = options.readTimeoutMs ?? 60_000;
    const retries = options.retries ?? 2;
    this.#redis = new Redis({
      url: this.#url,
      token,
      // Messages are opaque strings: no JSON round trip on the way in or out.
      automaticDeserialization: false,
      // One request per command, answered in order: the listener awaits each publish.
      enableAutoPipelining: false,
      enableTelemetry: false,
      retry: { retries, backoff: (attempt) => Math.min(1_000, 100 * 2 ** attempt) },
    });
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    // The event stream frames one message per line; a line break would cut it in two.
    if (/[\r\n]/.test(message)) {
      throw new Error(`Upstash bus messages must be one line: got a line break on "${channel}"`);
    }
    try {
      await this.#redis.publish(channel, message);
    } catch (error) {
      throw busFailure("Upstash", "publish", channel, error);
    }
  }

  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    this.#assertOpen();
    let subscription = this.#subscriptions.get(channel);
    if (subscription) {
      subscription.onMessage = onMessage;
      subscription.onResumed = onResumed;
    } else {
      subscription = new UpstashSubscription({
        url: this.#url,
        token: this.#token,
        channel,
        onMessage,
        onResumed,
        backoff: this.#backoff,
        confirmTimeoutMs: this.#confirmTimeoutMs,
        readTimeoutMs: this.#readTimeoutMs,
        probe: () => this.#redis.publish(channel, KEEPALIVE_MESSAGE),
        logger: this.#logger,
      });
      this.#subscriptions.set(channel, subscription);
    }
    try {
      await subscription.confirmed;
    } catch (error) {
      if (this.#subscriptions.get(channel) === subscription) this.#subscriptions.delete(channel);
      await subscription.close();
      throw busFailure("Upstash", "subscribe", channel, error);
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    const subscription = this.#subscriptions.get(channel);
    if (!subscription) return;
    this.#subscriptions.delete(channel);
    // Ending the stream is the unsubscribe: the service drops its SUBSCRIBE with it.
    await subscription.close();
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      return await this.#redis.ping() === "PONG";
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscriptions = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("UpstashBus is closed");
  }
}
