import { createCluster } from "redis";
import type { Bus } from "./bus.ts";
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import { type BusLogger, silentLogger } from "./bus_logger.ts";
import { describe, ReconnectClock, redact } from "./redis_bus.ts";

/** Options of {@linkcode RedisClusterBus.connect}. */
export interface RedisClusterBusOptions {
  /** Receives connection errors the bus recovers from; silent by default. */
  logger?: BusLogger;
  /** Delays between reconnect attempts of each node connection. */
  backoff?: Partial<BackoffOptions>;
  /** How long `connect` waits for the cluster's slot map before it gives up (default 10 s). */
  connectTimeoutMs?: number;
}

type Cluster = ReturnType<typeof newCluster>;
type Listener = (message: string) => void;
/** A node connection as node-redis keeps it: the bus only listens to its events. */
interface NodeClient {
  isReady: boolean;
  on(event: "ready", listener: () => void): unknown;
}
interface Handler {
  onMessage: (message: string) => void;
  onResumed?: () => void;
}

/**
 * The bus on a Redis Cluster: sharded pub/sub (SPUBLISH / SSUBSCRIBE). A user's channel
 * lives on the master owning its slot, so publishing and delivery spread over the masters
 * instead of every message crossing the whole cluster bus as plain PUBLISH does.
 *
 * node-redis keeps one subscriber connection per master and reconnects it with backoff,
 * re-issuing SSUBSCRIBE for its channels. When such a connection is ready again (a master
 * restarted), `onResumed` runs for every channel: what was published while it was away is
 * lost, and the hub catches its sockets up by cursor. The same happens when node-redis
 * moves channels to a master it had no subscriber connection on (a failover).
 * `publish` never queues while a master is away: it rejects, and the replication listener
 * holds its acknowledgement and retries.
 *
 * @example
 * ```ts ignore
 * const bus = await RedisClusterBus.connect(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]);
 * await bus.subscribe("sync:user:42", (message) => console.log(message));
 * await bus.publish("sync:user:42", JSON.stringify({ type: "sync_data_available" }));
 * await bus.close();
 * ```
 */
export class RedisClusterBus implements Bus {
  readonly kind = "redis-cluster";
  #cluster: Cluster;
  #logger: BusLogger;
  #reconnects: ReconnectClock;
  #handlers = new Map<string, Handler>();
  /** Each channel's node-redis listener (unsubscribing names it) and its SSUBSCRIBE. */
  #subscriptions = new Map<string, { listener: Listener; active: Promise<void> }>();
  /** Subscriber connections whose later `ready` events mean "resubscribed after a loss". */
  #watched = new WeakSet<NodeClient>();
  #subscribing = 0;
  #closed = false;

  private constructor(cluster: Cluster, logger: BusLogger, reconnects: ReconnectClock) {
    this.#cluster = cluster;
    this.#logger = logger;
    this.#reconnects = reconnects;
    cluster.on("node-ready", () => this.#adoptSubscriberConnections());
  }

  /**
   * Connects through the first seed node that answers and learns the slot map; rejects
   * when none does within `connectTimeoutMs`, after releasing everything it opened.
   */
  static async connect(
    urls: readonly string[],
    options: RedisClusterBusOptions = {},
  ): Promise<RedisClusterBus> {
    if (urls.length === 0) throw new Error("RedisClusterBus needs at least one seed node URL");
    const logger = options.logger ?? silentLogger;
    const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const reconnects = new ReconnectClock();
    const cluster = newCluster(
      urls,
      (retries) => reconnects.schedule(backoffDelay(retries, backoff)),
    );
    // An 'error' event without a listener would crash the process.
    cluster.on(
      "error",
      (error: unknown) => logger.warn("Redis Cluster bus error", { error: describe(error) }),
    );
    cluster.on(
      "node-error",
      (error: unknown, node: { host: string; port: number }) =>
        logger.warn("Redis Cluster bus connection error", {
          node: `${node.host}:${node.port}`,
          error: describe(error),
        }),
    );
    const bus = new RedisClusterBus(cluster, logger, reconnects);
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const connected = cluster.connect();
    connected.catch(() => {});
    const where = `Redis Cluster at ${urls.map(redact).join(",")}`;
    try {
      if (await Promise.race([connected, timedOut]) === "timeout") {
        throw new Error(`${where} did not answer within ${timeoutMs} ms`);
      }
    } catch (error) {
      await bus.close();
      if (error instanceof Error && error.message.startsWith(where)) throw error;
      throw new Error(`${where} is unavailable: ${describe(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    return bus;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    try {
      await this.#cluster.sPublish(channel, message);
    } catch (error) {
      throw new Error(`Redis Cluster publish to "${channel}" failed: ${describe(error)}`, {
        cause: error,
      });
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
    const listener: Listener = (message) => this.#deliver(channel, message);
    this.#subscribing++;
    const active = this.#cluster.sSubscribe(channel, listener)
      .then(() => this.#adoptSubscriberConnections())
      .catch((error: unknown) => {
        if (this.#subscriptions.get(channel)?.listener === listener) {
          this.#subscriptions.delete(channel);
          this.#handlers.delete(channel);
        }
        throw new Error(`Redis Cluster subscribe to "${channel}" failed: ${describe(error)}`, {
          cause: error,
        });
      })
      .finally(() => this.#subscribing--);
    this.#subscriptions.set(channel, { listener, active });
    await active;
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#handlers.delete(channel);
    const subscription = this.#subscriptions.get(channel);
    if (!subscription || this.#closed) return;
    this.#subscriptions.delete(channel);
    // Naming the listener (and the channel: node-redis throws without one) leaves other
    // channels of the same master subscribed.
    await this.#cluster.sUnsubscribe(channel, subscription.listener).catch((error: unknown) =>
      this.#logger.warn("Redis Cluster unsubscribe failed", { channel, error: describe(error) })
    );
  }

  /** True when every master answers PING: with one away, a share of the users hears nothing. */
  async ping(): Promise<boolean> {
    if (this.#closed || !this.#cluster.isReady) return false;
    try {
      const masters = this.#cluster.masters;
      if (masters.length === 0) return false;
      const replies = await Promise.all(
        masters.map(async (master) => await (await this.#cluster.nodeClient(master)).ping()),
      );
      return replies.every((reply) => reply === "PONG");
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.#subscriptions.clear();
    this.#cluster.destroy();
    // node-redis sleeps between reconnect attempts on timers it cannot cancel: waiting them
    // out means nothing of this bus is left running once close() resolves.
    await this.#reconnects.settled();
  }

  /**
   * Watches the masters' subscriber connections. One adopted after this bus's own
   * SSUBSCRIBE resolved has had its first `ready`: each later one follows a reconnect. One
   * that appeared otherwise was opened by node-redis to take over channels from a master
   * that went away: the channels are resumed at once.
   */
  #adoptSubscriberConnections(): void {
    if (this.#closed) return;
    let takenOver = false;
    for (const master of this.#cluster.masters) {
      const client = master.pubSub?.client as NodeClient | undefined;
      if (!client || this.#watched.has(client)) continue;
      this.#watched.add(client);
      client.on("ready", () => this.#resume());
      if (this.#subscribing === 0 && client.isReady) takenOver = true;
    }
    if (takenOver) this.#resume();
  }

  #resume(): void {
    if (this.#closed) return;
    for (const [channel, handler] of this.#handlers) {
      if (!handler.onResumed || !this.#subscriptions.has(channel)) continue;
      try {
        handler.onResumed();
      } catch (error) {
        this.#logger.warn("Bus resume handler threw", { channel, error: describe(error) });
      }
    }
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

  #assertOpen(): void {
    if (this.#closed) throw new Error("RedisClusterBus is closed");
  }
}

function newCluster(urls: readonly string[], reconnectStrategy: (retries: number) => number) {
  // Nodes learnt from the slot map are dialled with `defaults`: the seeds' credentials and
  // TLS must reach them too.
  const seed = new URL(urls[0]);
  return createCluster({
    rootNodes: urls.map((url) => ({ url })),
    defaults: {
      ...(seed.username && { username: decodeURIComponent(seed.username) }),
      ...(seed.password && { password: decodeURIComponent(seed.password) }),
      // must: a publish while a master is away rejects now instead of waiting in a queue
      disableOfflineQueue: true,
      socket: { reconnectStrategy, ...(seed.protocol === "rediss:" && { tls: true }) },
    },
  });
}
