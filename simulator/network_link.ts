import type { WebSocketFactory } from "../client/sync_socket.ts";

/**
 * One device's network, with a switch: offline, requests fail as a dropped connection does
 * (those on their way too: the server may or may not have taken them), new sockets fail to
 * open and open ones close. Hand its `fetch` and `webSocket` to a `SyncClient`.
 */
export class NetworkLink {
  #online = true;
  readonly #sockets = new Set<WebSocket>();
  readonly #requests = new Set<AbortController>();
  /** Requests made while online. */
  requests = 0;

  /** `observe` sees every answer that reached the device (method, path, status, body). */
  constructor(
    readonly observe?: (method: string, path: string, status: number, body: ArrayBuffer) => void,
  ) {}

  get online(): boolean {
    return this.#online;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    if (!this.#online) throw new TypeError("Network is offline");
    this.requests++;
    const cut = new AbortController();
    this.#requests.add(cut);
    try {
      const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal;
      const res = await fetch(input, { ...init, signal });
      // The body too: a drop mid-answer is a drop.
      const body = await res.arrayBuffer();
      this.observe?.(init?.method ?? "GET", new URL(String(input)).pathname, res.status, body);
      return new Response(res.status === 204 ? null : body, res);
    } catch (error) {
      if (cut.signal.aborted) throw new TypeError("Network went offline");
      throw error;
    } finally {
      this.#requests.delete(cut);
    }
  };

  readonly webSocket: WebSocketFactory = (url, protocols) => {
    if (!this.#online) throw new TypeError("Network is offline");
    const socket = new WebSocket(url, protocols);
    this.#sockets.add(socket);
    socket.addEventListener("close", () => this.#sockets.delete(socket));
    return socket;
  };

  goOffline(): void {
    this.#online = false;
    for (const cut of this.#requests) cut.abort();
    for (const socket of this.#sockets) {
      if (socket.readyState <= WebSocket.OPEN) socket.close(4000, "Network went offline");
    }
  }

  goOnline(): void {
    this.#online = true;
  }
}
