import { createCluster } from "redis";
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

type Cluster = ReturnType<typeof createClusterClient>;
/** A node connection as node-redis keeps it: the bus only listens to its events. */
interface NodeClient {
  isReady: boolean;
  on(event: "ready", listener: () => void): unknown;
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
  #channels: ChannelSubscriptions;
  /** Subscriber connections whose later `ready` events mean "resubscribed after a loss". */
  #watched = new WeakSet<NodeClient>();
  #subscribing = 0;
  #closed = false;

  private constructor(cluster: Cluster, logger: BusLogger, reconnects: ReconnectClock) {
    this.#cluster = cluster;
    this.#logger = logger;
    this.#reconnects = reconnects;
    this.#channels = new ChannelSubscriptions(logger, "Redis Cluster");
    cluster.on("node-ready", () => this.#adoptSubscriberConnections());
  }

  /**
   * Connects through the first seed node that answers and learns the slot map; rejects
   * when none does within `connectTimeoutMs`, after releasing everything it opened.
   */
  static async connect(
    urls: readonly string[],
    options: NodeRedisBusOptions = {},
  ): Promise<RedisClusterBus> {
    if (urls.length === 0) throw new Error("RedisClusterBus needs at least one seed node URL");
    const logger = options.logger ?? silentLogger;
    const reconnects = new ReconnectClock(options.backoff);
    const cluster = createClusterClient(urls, reconnects.strategy);
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
    const where = `Redis Cluster at ${urls.map(redact).join(",")}`;
    try {
      await connectWithin(cluster.connect(), options.connectTimeoutMs ?? 10_000, where);
    } catch (error) {
      await bus.close();
      if (error instanceof Error && error.message.startsWith(where)) throw error;
      throw new Error(`${where} is unavailable: ${describe(error)}`, { cause: error });
    }
    return bus;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    try {
      await this.#cluster.sPublish(channel, message);
    } catch (error) {
      throw busFailure("Redis Cluster", "publish", channel, error);
    }
  }

  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    this.#assertOpen();
    await this.#channels.subscribe(channel, { onMessage, onResumed }, async (listener) => {
      this.#subscribing++;
      try {
        await this.#cluster.sSubscribe(channel, listener);
        this.#adoptSubscriberConnections();
      } finally {
        this.#subscribing--;
      }
    });
  }

  async unsubscribe(channel: string): Promise<void> {
    const listener = this.#channels.take(channel);
    if (!listener || this.#closed) return;
    // Naming the listener (and the channel: node-redis throws without one) leaves other
    // channels of the same master subscribed.
    await this.#cluster.sUnsubscribe(channel, listener).catch((error: unknown) =>
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
    this.#channels.clear();
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
    this.#channels.resume();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("RedisClusterBus is closed");
  }
}

/**
 * node-redis's cluster client for seed nodes `urls`, not yet connected, as every part that
 * talks to the cluster needs it: nodes reconnect with `reconnectStrategy`, and a command
 * for a master that is away rejects at once instead of waiting in an offline queue.
 */
export function createClusterClient(
  urls: readonly string[],
  reconnectStrategy: (retries: number) => number,
) {
  // Nodes learnt from the slot map are dialled with `defaults`: the seeds' credentials and
  // TLS must reach them too.
  const seed = new URL(urls[0]);
  return createCluster({
    rootNodes: urls.map((url) => ({ url })),
    commandOptions: UNTIMED_COMMANDS,
    defaults: {
      ...(seed.username && { username: decodeURIComponent(seed.username) }),
      ...(seed.password && { password: decodeURIComponent(seed.password) }),
      // must: a publish (or a rate-limit check) while a master is away rejects now instead
      // of waiting in a queue
      disableOfflineQueue: true,
      socket: { reconnectStrategy, ...(seed.protocol === "rediss:" && { tls: true }) },
    },
  });
}
