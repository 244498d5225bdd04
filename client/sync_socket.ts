import { backoffDelay, type BackoffPolicy } from "./backoff.ts";
import { REAL_RUNTIME, type Runtime, type TimerId } from "./runtime.ts";
import {
  type ClientMessage,
  type ServerMessage,
  WS_BEARER_PREFIX,
  WS_CLOSE,
  WS_PROTOCOL,
} from "./wire.ts";

/** Opens a socket; the default is the global `WebSocket`. */
export type WebSocketFactory = (url: string, protocols: string[]) => WebSocket;

export interface SyncSocketOptions {
  baseUrl: string;
  /** A device token: sent as the `bearer.<token>` subprotocol, never in the URL. */
  token: string;
  /** The cursor `hello` resumes from (null: from the beginning). */
  cursor: () => string | null;
  onMessage: (message: ServerMessage) => void;
  /** The socket is open and `hello` was sent. */
  onOpen?: () => void;
  /** The socket closed; `retryInMs` is when it tries again (undefined: it will not). */
  onClose?: (code: number, retryInMs?: number) => void;
  /** Closed with 4401: the token is invalid or the device was removed. It stops. */
  onUnauthorized?: () => void;
  webSocket?: WebSocketFactory;
  runtime?: Runtime;
  backoff?: BackoffPolicy;
  /** A ping goes out this often; no answer before the next one means the link is dead. */
  pingEveryMs?: number;
}

/** Least wait after a 4429: the server's message budget is per minute. */
const RATE_LIMITED_FLOOR_MS = 10_000;
/** The socket's close code when the client itself gives up on a silent link. */
const DEAD_LINK = 4000;

/**
 * The sync socket of DESIGN.md §6 with reconnection: token in the subprotocol, `hello`
 * with the cursor on every (re)connect, a ping to notice dead links, and backoff with full
 * jitter between attempts (reset once a connection answered). Close codes: 4401 stops it;
 * everything else (4429, 1011, 1012, 1013, a dropped link) reconnects.
 * @example
 * const socket = new SyncSocket({ baseUrl, token, cursor: () => cursor, onMessage: console.log });
 * socket.start();
 */
export class SyncSocket {
  readonly #o: SyncSocketOptions;
  readonly #runtime: Runtime;
  #socket: WebSocket | null = null;
  #running = false;
  #attempt = 0;
  #retryTimer: TimerId | null = null;
  #pingTimer: TimerId | null = null;
  #awaitingAnswer = false;

  constructor(options: SyncSocketOptions) {
    this.#o = options;
    this.#runtime = options.runtime ?? REAL_RUNTIME;
  }

  /** True while a socket is open. */
  get open(): boolean {
    return this.#socket?.readyState === 1;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }

  /** Closes the socket (1000) and stops reconnecting. */
  stop(): void {
    this.#running = false;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    if (socket?.readyState === 0) {
      // A socket closed while still connecting can leave the server's half of the upgrade
      // open for good (a Deno server then never finishes a graceful shutdown): it opens, then
      // closes with a proper handshake.
      socket.onmessage = null;
      socket.onopen = () => socket.close(1000, "Client stopped");
    } else if (socket?.readyState === 1) socket.close(1000, "Client stopped");
  }

  /** Reconnects now if it is waiting out a backoff (the network is back). */
  retryNow(): void {
    if (this.#retryTimer === null) return;
    this.#runtime.clearTimeout(this.#retryTimer);
    this.#connect();
  }

  /** Sends a message if a socket is open; false when it could not. */
  send(message: ClientMessage): boolean {
    if (!this.open) return false;
    try {
      this.#socket!.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  #connect(): void {
    this.#retryTimer = null;
    if (!this.#running) return;
    const url = new URL("/api/sync/ws", this.#o.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let socket: WebSocket;
    try {
      socket = (this.#o.webSocket ?? ((u, p) => new WebSocket(u, p)))(
        url.toString(),
        [WS_PROTOCOL, WS_BEARER_PREFIX + this.#o.token],
      );
    } catch {
      return this.#closed(1006);
    }
    this.#socket = socket;
    socket.onopen = () => {
      const cursor = this.#o.cursor();
      this.send({ type: "hello", ...(cursor && { cursor }) });
      // The pong says the server took the hello: the connection counts as healthy then.
      this.#ping();
      this.#o.onOpen?.();
    };
    socket.onmessage = (event) => {
      this.#awaitingAnswer = false;
      let message: ServerMessage;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message.type === "pong") this.#attempt = 0;
      this.#o.onMessage(message);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#closed(event.code);
    };
  }

  #ping(): void {
    if (this.#awaitingAnswer) {
      // Nothing came back since the last ping: the link is dead even if TCP has not noticed.
      const socket = this.#socket!;
      this.#socket = null;
      try {
        socket.close(DEAD_LINK, "No answer to ping");
      } catch {
        // Already closing.
      }
      return this.#closed(DEAD_LINK);
    }
    this.#awaitingAnswer = this.send({ type: "ping" });
    this.#pingTimer = this.#runtime.setTimeout(() => this.#ping(), this.#o.pingEveryMs ?? 25_000);
  }

  #closed(code: number): void {
    this.#clearTimers();
    this.#socket = null;
    this.#awaitingAnswer = false;
    if (!this.#running) return;
    if (code === WS_CLOSE.unauthorized) {
      this.#running = false;
      this.#o.onClose?.(code);
      this.#o.onUnauthorized?.();
      return;
    }
    const policy = this.#o.backoff ?? { baseMs: 500, maxMs: 30_000 };
    const floor = code === WS_CLOSE.rateLimited ? RATE_LIMITED_FLOOR_MS : undefined;
    const delay = backoffDelay(this.#attempt++, policy, this.#runtime.random, floor);
    this.#o.onClose?.(code, delay);
    this.#retryTimer = this.#runtime.setTimeout(() => this.#connect(), delay);
  }

  #clearTimers(): void {
    if (this.#retryTimer !== null) this.#runtime.clearTimeout(this.#retryTimer);
    if (this.#pingTimer !== null) this.#runtime.clearTimeout(this.#pingTimer);
    this.#retryTimer = this.#pingTimer = null;
  }
}
