/** Many client WebSockets in this process, counting the notifications they receive. */
import { pool, sleep } from "./stats.ts";

/** Where one socket connects, and the subprotocols it offers. */
export interface SocketTarget {
  url: string;
  protocols?: string[];
}

export interface WsFleet extends AsyncDisposable {
  readonly size: number;
  /** `sync_data_available` messages received by all sockets since the last reset. */
  readonly delivered: number;
  /** Sockets that received at least one since the last reset. */
  readonly reached: number;
  /** Sockets the server closed. */
  readonly closedByServer: number;
  reset(): void;
  /** Resolves true once `delivered >= n`, false after `timeoutMs`. */
  until(n: number, timeoutMs: number): Promise<boolean>;
}

const MARK = '"sync_data_available"';

/** Opens every target (at most `concurrency` handshakes at once); throws if one fails. */
export async function openFleet(
  targets: readonly SocketTarget[],
  concurrency = 64,
): Promise<WsFleet> {
  let delivered = 0;
  let reached = 0;
  let closedByServer = 0;
  let closing = false;
  let goal: { n: number; resolve: (ok: boolean) => void } | null = null;
  const counts = new Uint32Array(targets.length);
  const sockets: WebSocket[] = [];
  const closed: Promise<void>[] = [];
  const open = (target: SocketTarget, i: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(target.url, target.protocols ?? []);
      sockets.push(socket);
      const timer = setTimeout(() => reject(new Error(`Socket ${i} did not open in 15 s`)), 15_000);
      closed.push(
        new Promise((done) =>
          socket.addEventListener("close", () => {
            if (!closing) closedByServer++;
            done();
          })
        ),
      );
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
      socket.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`Socket ${i} failed to open`));
      }, { once: true });
      socket.addEventListener("message", (event) => {
        if (typeof event.data !== "string" || !event.data.includes(MARK)) return;
        if (counts[i]++ === 0) reached++;
        if (++delivered === goal?.n) goal.resolve(true);
      });
    });
  const fleet: WsFleet = {
    size: targets.length,
    get delivered() {
      return delivered;
    },
    get reached() {
      return reached;
    },
    get closedByServer() {
      return closedByServer;
    },
    reset() {
      delivered = 0;
      reached = 0;
      counts.fill(0);
    },
    async until(n, timeoutMs) {
      if (delivered >= n) return true;
      const { promise, resolve } = Promise.withResolvers<boolean>();
      goal = { n, resolve };
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const ok = await promise;
      clearTimeout(timer);
      goal = null;
      return ok;
    },
    async [Symbol.asyncDispose]() {
      closing = true;
      for (const socket of sockets) {
        if (socket.readyState <= WebSocket.OPEN) socket.close(1000);
      }
      await Promise.race([Promise.all(closed), sleep(15_000)]);
    },
  };
  try {
    await pool(targets, concurrency, open);
  } catch (error) {
    await fleet[Symbol.asyncDispose]();
    throw error;
  }
  return fleet;
}
