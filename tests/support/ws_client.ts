import assert from "node:assert/strict";
import { WS_PROTOCOL } from "../../sync/ws/messages.ts";
import type { ServerMessage } from "../../sync/ws/messages.ts";

/** A test WebSocket client that queues what the server sends, for ordered assertions. */
export interface WsClient extends AsyncDisposable {
  socket: WebSocket;
  /** Resolves with the close code and reason, whoever closed. */
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  /** The next message the server sent; fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<ServerMessage>;
  /** Fails if any message arrives within `ms`. */
  quiet(ms?: number): Promise<void>;
}

export interface ConnectOptions {
  /** How the token travels; `none` sends no token at all. */
  via?: "protocol" | "query" | "none";
  origin?: string;
  /** Overrides the offered subprotocols. */
  protocols?: string[];
}

/** Opens a socket to `/api/sync/ws`; rejects when the server refuses the upgrade. */
export function connectWs(
  baseUrl: string,
  token: string,
  { via = "protocol", origin, protocols }: ConnectOptions = {},
): Promise<WsClient> {
  const url = new URL("/api/sync/ws", baseUrl.replace(/^http/, "ws"));
  if (via === "query") url.searchParams.set("token", token);
  const offered = protocols ??
    (via === "protocol" ? [WS_PROTOCOL, `bearer.${token}`] : []);
  const socket = new WebSocket(url, { protocols: offered, headers: origin ? { origin } : {} });
  const inbox: ServerMessage[] = [];
  let waiter: (() => void) | null = null;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }));
  });
  socket.addEventListener("message", (e) => {
    inbox.push(JSON.parse(e.data));
    waiter?.();
  });
  const client: WsClient = {
    socket,
    closed,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    async next(timeoutMs = 3000) {
      if (inbox.length === 0) {
        const { promise, resolve } = Promise.withResolvers<void>();
        waiter = resolve;
        const timer = setTimeout(resolve, timeoutMs);
        await Promise.race([promise, closed]);
        clearTimeout(timer);
        waiter = null;
      }
      const message = inbox.shift();
      if (!message) throw new Error(`No message within ${timeoutMs} ms`);
      return message;
    },
    async quiet(ms = 300) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (inbox.length > 0) throw new Error(`Unexpected message: ${JSON.stringify(inbox[0])}`);
    },
    async [Symbol.asyncDispose]() {
      if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
        socket.close(1000);
      }
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    const onClose = (e: CloseEvent) =>
      reject(new Error(`Upgrade refused or socket closed before open: ${e.code}`));
    socket.addEventListener("open", () => {
      socket.removeEventListener("close", onClose);
      resolve(client);
    }, { once: true });
    socket.addEventListener("close", onClose, { once: true });
  });
}

/** Sends a ping and checks that the next message is its pong: nothing else came first. */
export async function assertPong(ws: WsClient): Promise<void> {
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" });
}
