import type { Bus } from "../bus/bus.ts";
import { decodeCursor, encodeCursor } from "../cursor.ts";
import { AppError } from "../errors.ts";
import { type SyncEvent, userChannel } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import type { SyncStore } from "../sync_store.ts";
import type { DeviceIdentity } from "../sync_service.ts";
import { catchUp, catchUpProgress, PROGRESS_MIN_CHANGES } from "./catch_up.ts";
import { eventMessage, needsPolicy } from "./event_message.ts";
import {
  type ClientMessage,
  parseClientMessage,
  type ServerMessage,
  WS_CLOSE,
} from "./messages.ts";
import { CachedPolicy, loadCollectionPolicy } from "./policy.ts";
import { WsSubscriptions } from "./subscriptions.ts";

export interface HubOptions {
  bus: Bus;
  store: SyncStore;
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
  /** Counts messages in and out and closes by code. */
  metrics?: Pick<Metrics, "socketMessage" | "socketClosed">;
}

/** One open socket of an authenticated device. */
interface Client {
  socket: WebSocket;
  userId: string;
  deviceId: string;
  /** True once live events flow and the device is known to still exist. */
  ready: Promise<boolean>;
  /** Set when the device was deleted: no `offline` follows its `revoked`. */
  revoked: boolean;
  /**
   * The newest sequence the device is known to have or to have been told of (its `hello`,
   * its acks, the hints sent to it); null before any. Catch-up after a bus gap starts here.
   */
  cursor: number | null;
  /** Messages of a socket are answered one after another, so replies keep request order. */
  inbox: Promise<void>;
  window: { start: number; count: number };
  /** A long catch-up in progress: reported as `sync_progress` on each ack until done. */
  catchingUp: { since: number; target: number } | null;
}

/** The sockets of one user on this instance and their shared bus subscription. */
interface UserEntry {
  clients: Set<Client>;
  subscribed: Promise<boolean>;
  /** Events of a user are handled one after another, so sockets see them in bus order. */
  events: Promise<void>;
  /** The devices with a socket here; their `last_seen_at` is refreshed while connected. */
  devices: Set<string>;
  policy: CachedPolicy;
}

/**
 * The WebSocket hub (DESIGN.md §6): multiplexes a user's sockets on this instance onto one
 * bus subscription of the user's channel, turns bus events into server messages, and
 * answers `hello`, `ack` and `ping`.
 *
 * Choices the contract leaves open:
 * - A device is never told about itself: no `sync_data_available` for its own pushes (the
 *   push response carried the cursor), no `sync_completed` for its own acks, no
 *   `device_status` for itself. The `hello` catch-up is the exception: it goes by the
 *   cursor the device sent, whoever made the changes.
 * - `online` is published when a device's first socket on this instance opens, `offline`
 *   when its last one here closes, none after `revoked`, none on shutdown (the devices
 *   reconnect to another instance at once; `last_seen_at` ages out of `online` anyway).
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
  readonly #store: SyncStore;
  readonly #logger: Logger;
  readonly #origins: ReadonlySet<string>;
  readonly #maxBuffered: number;
  readonly #touchEveryMs: number;
  readonly #maxPerMinute: number;
  readonly #metrics: HubOptions["metrics"];
  readonly #users = new Map<string, UserEntry>();
  readonly #channels: WsSubscriptions;
  /** Work started by sockets and events, awaited by `close()` even for sockets already gone. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing = false;
  /** One timer for the whole hub, not one per device: 10,000 sockets, one query a minute. */
  #touchTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: HubOptions) {
    this.#bus = options.bus;
    this.#channels = new WsSubscriptions(options.bus);
    this.#store = options.store;
    this.#logger = options.logger;
    this.#origins = new Set((options.allowedOrigins ?? []).map(normaliseOrigin));
    this.idleTimeoutSeconds = options.idleTimeoutSeconds ?? 30;
    this.#maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.#touchEveryMs = options.touchEveryMs ?? 60_000;
    this.#maxPerMinute = options.maxMessagesPerMinute ?? 120;
    this.#metrics = options.metrics;
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
  handle(socket: WebSocket, who: DeviceIdentity | null): void {
    socket.addEventListener("close", (event) => this.#metrics?.socketClosed(event.code));
    socket.addEventListener("open", () => {
      if (!who) return socket.close(WS_CLOSE.unauthorized, "Unauthorized");
      if (this.#closing) return socket.close(WS_CLOSE.restarting, "Server restarting");
      const client = this.#join(socket, who);
      socket.addEventListener("message", (event) => {
        if (!this.#withinRate(client)) {
          return this.#closeClient(client, WS_CLOSE.rateLimited, "Too many messages");
        }
        client.inbox = this.#track(client.inbox.then(() => this.#onMessage(client, event.data)));
      });
      socket.addEventListener("close", () => this.#leave(client));
    }, { once: true });
  }

  /** Open sockets and users with at least one, on this instance (for metrics). */
  stats(): { sockets: number; users: number } {
    let sockets = 0;
    for (const user of this.#users.values()) sockets += user.clients.size;
    return { sockets, users: this.#users.size };
  }

  /**
   * Shutdown: closes every socket with 1012, drops every subscription and waits for the
   * work in flight, so the store and the bus can be closed after it.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#touchTimer);
    this.#touchTimer = undefined;
    const users = [...this.#users];
    this.#users.clear();
    for (const [userId, user] of users) {
      for (const client of user.clients) {
        this.#closeClient(client, WS_CLOSE.restarting, "Server restarting");
      }
      void this.#unsubscribe(userId);
    }
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  #join(socket: WebSocket, who: DeviceIdentity): Client {
    const { userId } = who.account;
    let user = this.#users.get(userId);
    if (!user) {
      user = {
        clients: new Set(),
        subscribed: this.#subscribe(userId),
        events: Promise.resolve(),
        devices: new Set(),
        policy: new CachedPolicy(this.#store, userId),
      };
      this.#users.set(userId, user);
    }
    const client: Client = {
      socket,
      userId,
      deviceId: who.deviceId,
      ready: Promise.resolve(false),
      revoked: false,
      cursor: null,
      inbox: Promise.resolve(),
      window: { start: Date.now(), count: 0 },
      catchingUp: null,
    };
    const firstOfDevice = !user.devices.has(who.deviceId);
    user.clients.add(client);
    this.#touchTimer ??= setInterval(() => this.#touchConnected(), this.#touchEveryMs);
    if (firstOfDevice) {
      user.devices.add(who.deviceId);
      void this.#publish(userId, { type: "device", device_id: who.deviceId, status: "online" });
    }
    client.ready = this.#track(
      this.#confirm(user, client).catch((error) => {
        this.#logger.error("Confirming a WebSocket device failed", {
          device_id: who.deviceId,
          error,
        });
        this.#closeClient(client, WS_CLOSE.internal, "Internal server error");
        return false;
      }),
    );
    return client;
  }

  #touchConnected(): void {
    const ids = [...this.#users.values()].flatMap((user) => [...user.devices]);
    if (ids.length === 0) {
      clearInterval(this.#touchTimer);
      this.#touchTimer = undefined;
      return;
    }
    void this.#track(
      this.#store.touchDevices(ids).catch((error) =>
        this.#logger.warn("Refreshing last_seen_at failed", { devices: ids.length, error })
      ),
    );
  }

  async #confirm(user: UserEntry, client: Client): Promise<boolean> {
    if (!(await user.subscribed)) {
      this.#closeClient(client, WS_CLOSE.internal, "Live events are unavailable: reconnect");
      return false;
    }
    // must: look the device up only after subscribing. A deletion before this read is seen
    // here; one after it arrives as a `revoked` event. Either way the socket closes.
    const devices = await this.#store.listDevices(client.userId);
    if (!devices.some((d) => d.id === client.deviceId)) {
      client.revoked = true;
      this.#closeClient(client, WS_CLOSE.unauthorized, "Device removed");
      return false;
    }
    return client.socket.readyState === WebSocket.OPEN;
  }

  #leave(client: Client): void {
    const user = this.#users.get(client.userId);
    if (!user || !user.clients.delete(client)) return;
    if (![...user.clients].some((c) => c.deviceId === client.deviceId)) {
      user.devices.delete(client.deviceId);
      if (!client.revoked && !this.#closing) {
        void this.#publish(client.userId, {
          type: "device",
          device_id: client.deviceId,
          status: "offline",
        });
      }
    }
    if (user.clients.size === 0) {
      this.#users.delete(client.userId);
      void this.#unsubscribe(client.userId);
    }
  }

  async #onMessage(client: Client, data: unknown): Promise<void> {
    const parsed = parseClientMessage(data);
    this.#metrics?.socketMessage("in", parsed.ok ? parsed.message.type : "invalid");
    if (!parsed.ok) return this.#send(client, parsed.error);
    try {
      await this.#answer(client, parsed.message);
    } catch (error) {
      if (error instanceof AppError) {
        return this.#send(client, { type: "error", code: error.code, message: error.message });
      }
      this.#logger.error("WebSocket message failed", {
        device_id: client.deviceId,
        type: parsed.message.type,
        error,
      });
      this.#send(client, { type: "error", code: "INTERNAL", message: "Internal server error" });
    }
  }

  async #answer(client: Client, message: ClientMessage): Promise<void> {
    const who = { userId: client.userId, deviceId: client.deviceId };
    switch (message.type) {
      case "ping":
        return this.#send(client, { type: "pong" });
      case "hello": {
        const since = message.cursor ? decodeCursor(message.cursor, "cursor") : 0;
        client.cursor = Math.max(client.cursor ?? 0, since);
        // must: compare with the head only once subscribed, so a change committed between
        // the read and the subscription still arrives as a live event.
        if (!(await client.ready)) return;
        const policy = await loadCollectionPolicy(this.#store, client.userId);
        const hint = await catchUp(this.#store, policy, who, since);
        if (!hint) return;
        this.#send(client, hint);
        const target = decodeCursor(hint.cursor, "cursor");
        if (target - since >= PROGRESS_MIN_CHANGES) {
          client.catchingUp = { since, target };
          this.#send(client, catchUpProgress(client.catchingUp, since));
        }
        return;
      }
      case "ack": {
        const seq = decodeCursor(message.cursor, "cursor");
        client.cursor = Math.max(client.cursor ?? 0, seq);
        if (!(await client.ready)) return;
        // must: publish only after the cursor is stored, so receipts never run ahead of it.
        await this.#store.setDeviceCursor(client.userId, client.deviceId, seq);
        if (client.catchingUp) {
          this.#send(client, catchUpProgress(client.catchingUp, seq));
          if (seq >= client.catchingUp.target) client.catchingUp = null;
        }
        await this.#publish(client.userId, {
          type: "ack",
          device_id: client.deviceId,
          cursor: encodeCursor(seq),
        });
        return;
      }
    }
  }

  #onEvent(userId: string, raw: string): void {
    const user = this.#users.get(userId);
    if (!user) return;
    let event: SyncEvent;
    try {
      event = JSON.parse(raw);
    } catch {
      return this.#logger.warn("Dropped a malformed bus event", { user_id: userId });
    }
    user.events = this.#track(
      user.events
        .then(() => this.#dispatch(user, event))
        .catch((error) =>
          this.#logger.error("Delivering a bus event failed", { user_id: userId, error })
        ),
    );
  }

  async #dispatch(user: UserEntry, event: SyncEvent): Promise<void> {
    if (user.clients.size === 0) return;
    const policy = needsPolicy(event) ? await user.policy.get(event) : null;
    for (const client of user.clients) {
      const delivery = eventMessage(event, client.deviceId, policy);
      if (delivery?.kind === "send") this.#send(client, delivery.message);
      if (delivery?.kind === "revoke") {
        client.revoked = true;
        this.#closeClient(client, WS_CLOSE.unauthorized, "Device removed");
      }
    }
  }

  #send(client: Client, message: ServerMessage): void {
    const { socket } = client;
    if (socket.readyState !== WebSocket.OPEN) return;
    // must: never queue without bound for a socket that reads slower than events arrive;
    // it reconnects and resumes from its cursor, losing nothing.
    if (socket.bufferedAmount > this.#maxBuffered) {
      return this.#closeClient(client, WS_CLOSE.slowConsumer, "Too far behind: reconnect");
    }
    try {
      socket.send(JSON.stringify(message));
    } catch {
      // Closed between the check and the send: nothing to deliver to.
      return;
    }
    this.#metrics?.socketMessage("out", message.type);
    if (message.type === "sync_data_available") {
      client.cursor = Math.max(client.cursor ?? 0, decodeCursor(message.cursor));
    }
  }

  #closeClient(client: Client, code: number, reason: string): void {
    const { readyState } = client.socket;
    if (readyState === WebSocket.OPEN || readyState === WebSocket.CONNECTING) {
      client.socket.close(code, reason);
    }
  }

  #withinRate(client: Client): boolean {
    const now = Date.now();
    if (now - client.window.start >= 60_000) client.window = { start: now, count: 0 };
    return ++client.window.count <= this.#maxPerMinute;
  }

  #publish(userId: string, event: SyncEvent): Promise<void> {
    return this.#track(
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
      (m) => this.#onEvent(userId, m),
      () => this.#onResumed(userId),
    )
      .then(() => true, (error) => {
        this.#logger.error("Subscribing to a user channel failed", { user_id: userId, error });
        return false;
      });
  }

  /**
   * The user's channel is subscribed again after the bus connection was lost: events
   * published meanwhile never arrived (the listener may have published what it held before
   * this instance was back). Each socket is caught up from its cursor as on `hello`, in
   * its reply order.
   */
  #onResumed(userId: string): void {
    const user = this.#users.get(userId);
    if (!user) return;
    for (const client of user.clients) {
      client.inbox = this.#track(client.inbox.then(() => this.#catchUpAfterGap(client)));
    }
  }

  async #catchUpAfterGap(client: Client): Promise<void> {
    // Before its hello the device has said nothing to catch up from; its hello will.
    if (client.cursor === null || !(await client.ready)) return;
    try {
      // must: read the head only now, once subscribed again, as on hello.
      const policy = await loadCollectionPolicy(this.#store, client.userId);
      const who = { userId: client.userId, deviceId: client.deviceId };
      const hint = await catchUp(this.#store, policy, who, client.cursor);
      if (hint) this.#send(client, hint);
    } catch (error) {
      // A lost hint costs latency, never data: the device pulls by cursor when it reconnects.
      this.#logger.warn("Catching up a socket after a bus gap failed", {
        device_id: client.deviceId,
        error,
      });
    }
  }

  #unsubscribe(userId: string): Promise<void> {
    return this.#track(
      this.#channels.unsubscribe(userChannel(userId)).catch((error) =>
        this.#logger.warn("Unsubscribing from a user channel failed", { user_id: userId, error })
      ),
    );
  }

  /** Registers a promise that never rejects with the work `close()` waits for. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const done = () => this.#inFlight.delete(work);
    work.then(done, done);
    return work;
  }
}

function normaliseOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}
