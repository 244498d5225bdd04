/**
 * A TCP proxy on 127.0.0.1, so a test can partition one client from a server while every
 * other client of the server goes on: cut its connections (both ends see them close), or
 * blackhole them (both ends see them open, and nothing more ever arrives: a cut network,
 * a dead NAT or a paused VM look like that).
 */

export interface TcpProxy extends AsyncDisposable {
  /** The proxy's port: connect here instead of the target. */
  port: number;
  /** Drops every connection through it and refuses new ones until `restore()`. */
  cut(): void;
  /**
   * Keeps every connection open but forwards nothing more, either way, until `restore()`:
   * not even one end closing reaches the other.
   */
  blackhole(): void;
  restore(): void;
  /**
   * How many reads it has forwarded from clients to the target: on loopback a burst a client
   * writes at once arrives as one, and one that waited for an answer cannot join the one before.
   */
  clientWrites(): number;
}

/** Starts a proxy that forwards each connection to `target`. */
export function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const piping = new Set<Promise<unknown>>();
  let state: "forward" | "cut" | "blackhole" = "forward";
  let clientWrites = 0;
  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // Already closed by the other side.
    }
  };
  // Reads on, so both ends keep seeing an open connection; writes only while forwarding.
  const pump = async (from: Deno.Conn, to: Deno.Conn, fromClient: boolean) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        if (state !== "forward") continue;
        if (fromClient) clientWrites++;
        await to.write(buffer.subarray(0, n));
      }
    } catch {
      // Closed under it: the connection is over.
    }
  };
  const forward = async (client: Deno.Conn) => {
    if (state === "cut") return close(client);
    let server: Deno.Conn;
    try {
      server = await Deno.connect(target);
    } catch {
      return close(client);
    }
    open.add(client);
    open.add(server);
    await Promise.race([pump(client, server, true), pump(server, client, false)]);
    // A partition carries no close either: the other end stays open (until dispose).
    if (state === "blackhole") return;
    // Otherwise either side ending (or a cut) ends both.
    close(client);
    close(server);
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const work = forward(client);
      piping.add(work);
      work.finally(() => piping.delete(work));
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    cut() {
      state = "cut";
      for (const conn of [...open]) close(conn);
    },
    blackhole() {
      state = "blackhole";
    },
    restore() {
      state = "forward";
    },
    clientWrites: () => clientWrites,
    async [Symbol.asyncDispose]() {
      state = "cut";
      listener.close();
      for (const conn of [...open]) close(conn);
      await accepting;
      await Promise.all(piping);
    },
  };
}

/**
 * A proxy to the server a connection URL names (`postgres://…`), and that URL pointed at the
 * proxy instead: what a client under test connects with.
 */
export function startUrlProxy(url: string): TcpProxy & { url: string } {
  const target = new URL(url);
  const proxy = startTcpProxy({ hostname: target.hostname, port: Number(target.port || 5432) });
  const through = new URL(url);
  through.hostname = "127.0.0.1";
  through.port = String(proxy.port);
  return Object.assign(proxy, { url: through.toString() });
}
