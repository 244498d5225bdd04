import type { Bus } from "../bus/bus.ts";
import type { SyncCache } from "../cache/sync_cache.ts";
import { BROADCAST_CHANNEL, type BroadcastEvent, type SyncEvent, userChannel } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { SyncStore } from "../sync_store.ts";
import {
  Connection,
  type ConnectionLimits,
  type SocketIdentity,
  type SocketMeter,
} from "./connection.ts";
import { dispatchEvent } from "./dispatch.ts";
import { recoverAfterGap } from "./gap_recovery.ts";
import type { HubContext } from "./hub_context.ts";
import { WS_CLOSE } from "./messages.ts";
import { Presence } from "./presence.ts";
import { answerClientMessage } from "./protocol.ts";
import { WsSubscriptions } from "./subscriptions.ts";
import { TeamSockets } from "./team_sockets.ts";
import { dropRevoked } from "./token_check.ts";
import { UserSockets } from "./user_sockets.ts";
import { WorkTracker } from "./work_tracker.ts";

export interface HubOptions {
  bus: Bus;
  store: SyncStore;
  /** The head cache: a `hello` at the head it knows is answered without a query. */
  cache?: SyncCache | null;
  logger: Logger;
  /** Origins browsers may connect from, e.g. `https://app.devpocket.dev`; empty allows all. */
  allowedOrigins?: readonly string[];
  /** Seconds between protocol-level pings; a socket that misses the pong is closed. Default 30. */
  idleTimeoutSeconds?: number;
  /** Bytes queued unsent on one socket before it is closed as a slow consumer. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** How often a connected device refreshes `last_seen_at`. Default 60 s. */
  touchEveryMs?: number;
  /** Client messages per socket per minute before it is closed with 4429. Default 120. */
  maxMessagesPerMinute?: number;
  /** Counts messages in and out, closes by code and sockets over their message budget. */
  metrics?: SocketMeter;
}

/**
 * The WebSocket hub (DESIGN.md §6): multiplexes a user's sockets on this instance onto one
 * bus subscription of the user's channel (and the sockets of a team's members onto one of
 * the team's channel: team_sockets.ts), turns bus events into server messages, and
 * answers `hello`, `ack` and `ping` (protocol.ts).
 *
 * Choices the contract leaves open:
 * - A device is never told about itself: no `sync_data_available` for its own pushes (the
 *   push response carried the cursor), no `sync_completed` for its own acks, no
 *   `device_status` for itself. The `hello` catch-up is the exception: it goes by the
 *   cursor the device sent, whoever made the changes.
 * - No live hint for changes the socket's `hello` or the hints it was sent already cover
 *   (its acks are not checked against the heads, so they do not count): the event of a
 *   change committed just before a `hello` often reaches this instance after it, and would
 *   cost the device a pull that brings nothing.
 * - `online` is published when a device's first socket on this instance opens, `offline`
 *   when its last one here closes, none after its token stopped working, none on shutdown
 *   (the devices reconnect to another instance at once; `last_seen_at` ages out of
 *   `online` anyway).
 * - Whenever events may have been lost (a bus gap, a recreated slot), every socket's token
 *   is checked again before it is caught up from its cursor (gap_recovery.ts).
 * - A socket receives the team its user synced when it opened. When the newest account
 *   token names another team (or none), the user's sockets are closed with 1012 and
 *   reconnect: they subscribe to the team they now sync, and their `hello` is answered
 *   with a hint to pull, which answers 410 (DESIGN.md §11). Re-subscribing in place would
 *   leave the device holding the old team's items until its next pull anyway.
 *
 * @example
 * const hub = new Hub({ bus, store, logger });
 * // in the route, after authenticating the token:
 * hub.handle(Deno.upgradeWebSocket(req, { protocol: WS_PROTOCOL }).socket, device);
 * await hub.close(); // on shutdown: every socket closes with 1012
 */
export class Hub {
  readonly idleTimeoutSeconds: number;
  readonly #bus: Bus;
  readonly #logger: Logger;
  readonly #origins: ReadonlySet<string>;
  readonly #limits: ConnectionLimits;
  readonly #users = new Map<string, UserSockets>();
  readonly #channels: WsSubscriptions;
  readonly #teams: TeamSockets;
  readonly #work = new WorkTracker();
  readonly #context: HubContext;
  readonly #presence: Presence;
  /** The deployment-wide channel, subscribed with the first socket (again if that failed). */
  #broadcast: Promise<boolean> | null = null;
  #closing = false;

  constructor(options: HubOptions) {
    this.#bus = options.bus;
    this.#channels = new WsSubscriptions(options.bus);
    this.#logger = options.logger;
    this.#origins = new Set((options.allowedOrigins ?? []).map(normaliseOrigin));
    this.idleTimeoutSeconds = options.idleTimeoutSeconds ?? 30;
    this.#limits = {
      maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
      maxMessagesPerMinute: options.maxMessagesPerMinute ?? 120,
      meter: options.metrics,
    };
    this.#context = {
      store: options.store,
      cache: options.cache,
      logger: options.logger,
      metrics: options.metrics,
      publish: (userId, event) => this.#publish(userId, event),
      track: (work) => this.#work.track(work),
    };
    this.#teams = new TeamSockets(this.#context, this.#channels);
    this.#presence = new Presence(
      this.#context,
      options.touchEveryMs ?? 60_000,
      () => [...this.#users.values()].flatMap((user) => user.devices()),
    );
  }

  /**
   * Whether a browser on `origin` may connect. Browsers always send `Origin`; a request
   * without one comes from a native app or a server, which an allow-list cannot stop anyway.
   */
  acceptsOrigin(origin: string | undefined): boolean {
    if (this.#origins.size === 0 || origin === undefined) return true;
    return this.#origins.has(normaliseOrigin(origin));
  }

  /**
   * Takes an upgraded socket. `who` is the authenticated device, or null when the token was
   * missing, invalid or revoked: the socket is then closed with 4401 once open, because a
   * browser cannot read the HTTP status of a refused upgrade.
   */
  handle(socket: WebSocket, who: SocketIdentity | null): void {
    socket.addEventListener("close", (event) => this.#context.metrics?.socketClosed(event.code));
    socket.addEventListener("open", () => {
      if (!who) return socket.close(WS_CLOSE.unauthorized, "Unauthorized");
      if (this.#closing) return socket.close(WS_CLOSE.restarting, "Server restarting");
      const connection = this.#join(socket, who);
      socket.addEventListener("message", (event) => {
        if (!connection.withinRate()) {
          this.#context.metrics?.rateLimited("/api/sync/ws", "socket");
          return connection.close(WS_CLOSE.rateLimited, "Too many messages");
        }
        void this.#work.track(
          connection.enqueue(() => answerClientMessage(this.#context, connection, event.data)),
        );
      });
      socket.addEventListener("close", () => this.#leave(connection));
    }, { once: true });
  }

  /** Open sockets and users with at least one, on this instance (for metrics). */
  stats(): { sockets: number; users: number } {
    let sockets = 0;
    for (const user of this.#users.values()) sockets += user.connections.size;
    return { sockets, users: this.#users.size };
  }

  /**
   * Shutdown: closes every socket with 1012, drops every subscription and waits for the
   * work in flight, so the store and the bus can be closed after it.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#presence.stop();
    const users = [...this.#users.values()];
    this.#users.clear();
    for (const user of users) {
      for (const connection of user.connections) {
        connection.close(WS_CLOSE.restarting, "Server restarting");
      }
      void this.#unsubscribe(userChannel(user.userId));
    }
    this.#teams.close();
    if (this.#broadcast) void this.#unsubscribe(BROADCAST_CHANNEL);
    await this.#work.drain();
  }

  #join(socket: WebSocket, who: SocketIdentity): Connection {
    const { userId } = who.account;
    let user = this.#users.get(userId);
    if (!user) {
      user = new UserSockets(userId, this.#context, this.#subscribe(userId));
      this.#users.set(userId, user);
    }
    this.#broadcast ??= this.#subscribeBroadcast();
    const connection = new Connection(socket, who, this.#limits);
    const firstOfDevice = !user.has(who.deviceId);
    user.connections.add(connection);
    const teamSubscribed = this.#teams.join(connection, user);
    if (firstOfDevice) this.#presence.arrived(userId, who.deviceId);
    connection.ready = this.#work.track(
      this.#confirm(user, connection, teamSubscribed).catch((error) => {
        this.#logger.error("Confirming a WebSocket device failed", {
          device_id: who.deviceId,
          error,
        });
        connection.close(WS_CLOSE.internal, "Internal server error");
        return false;
      }),
    );
    return connection;
  }

  async #confirm(
    user: UserSockets,
    connection: Connection,
    teamSubscribed: Promise<boolean>,
  ): Promise<boolean> {
    if (!(await user.subscribed) || !(await teamSubscribed)) {
      connection.close(WS_CLOSE.internal, "Live events are unavailable: reconnect");
      return false;
    }
    // must: check the token (and the user's team) only after subscribing. A deletion, a
    // new token or a team change before this read is seen here; one after it arrives as an
    // event. Either way the socket closes.
    if ((await dropRevoked(this.#context.store, [connection])).length === 0) return false;
    return connection.socket.readyState === WebSocket.OPEN;
  }

  #leave(connection: Connection): void {
    const user = this.#users.get(connection.userId);
    if (!user || !user.connections.delete(connection)) return;
    this.#teams.leave(connection, user);
    if (!user.has(connection.deviceId) && !connection.revoked && !this.#closing) {
      this.#presence.departed(connection.userId, connection.deviceId);
    }
    if (user.connections.size === 0) {
      this.#users.delete(connection.userId);
      void this.#unsubscribe(userChannel(connection.userId));
    }
  }

  #onEvent(userId: string, raw: string): void {
    const user = this.#users.get(userId);
    if (!user) return;
    const event = parseEvent<SyncEvent>(raw);
    if (!event) return this.#logger.warn("Dropped a malformed bus event", { user_id: userId });
    void this.#work.track(
      user.enqueue(
        event,
        (e) =>
          dispatchEvent(this.#context, user, e).catch((error) =>
            this.#logger.error("Delivering a bus event failed", { user_id: userId, error })
          ),
      ),
    );
  }

  #onBroadcast(raw: string): void {
    if (parseEvent<BroadcastEvent>(raw)?.type !== "catch_up") return;
    this.#logger.warn("Hints were lost for everyone: catching every socket up", {
      users: this.#users.size,
    });
    for (const user of this.#users.values()) recoverAfterGap(this.#context, user);
  }

  #publish(userId: string, event: SyncEvent): Promise<void> {
    return this.#work.track(
      this.#bus.publish(userChannel(userId), JSON.stringify(event)).catch((error) => {
        // A lost hint costs latency, never data: devices catch up by cursor.
        this.#logger.warn("Publishing a hub event failed", {
          user_id: userId,
          type: event.type,
          error,
        });
      }),
    );
  }

  #subscribe(userId: string): Promise<boolean> {
    return this.#channels.subscribe(
      userChannel(userId),
      (message) => this.#onEvent(userId, message),
      // Events published while the channel was away never arrived (the listener may have
      // published what it held before this instance was back).
      () => {
        const user = this.#users.get(userId);
        if (user) recoverAfterGap(this.#context, user);
      },
    ).then(() => true, (error) => {
      this.#logger.error("Subscribing to a user channel failed", { user_id: userId, error });
      return false;
    });
  }

  #subscribeBroadcast(): Promise<boolean> {
    return this.#channels.subscribe(BROADCAST_CHANNEL, (message) => this.#onBroadcast(message))
      .then(() => true, (error) => {
        this.#logger.warn("Subscribing to the broadcast channel failed", { error });
        // The next socket tries again.
        this.#broadcast = null;
        return false;
      });
  }

  #unsubscribe(channel: string): Promise<void> {
    return this.#work.track(
      this.#channels.unsubscribe(channel).catch((error) =>
        this.#logger.warn("Unsubscribing from a bus channel failed", { channel, error })
      ),
    );
  }
}

function parseEvent<T>(raw: string): T | null {
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

function normaliseOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}
