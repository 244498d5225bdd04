/**
 * The WebSocket handshake of GET /api/sync/ws byte for byte over a raw TCP socket, so the
 * test controls the exact Sec-WebSocket-Protocol text a client sends (RFC 6455 allows any
 * spacing around the commas; browsers send ", ", many other clients ",").
 */
import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";

interface Handshake extends Disposable {
  status: number;
  headers: Headers;
  /** The rest of what the server sent with its head: a body, or the first frames. */
  rest: Uint8Array;
  conn: Deno.Conn;
}

async function handshake(base: string, path: string, protocol?: string): Promise<Handshake> {
  const { hostname, port } = new URL(base);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...(protocol === undefined ? [] : [`Sec-WebSocket-Protocol: ${protocol}`]),
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  let received: Uint8Array = new Uint8Array();
  let end = -1;
  while (end < 0) {
    const chunk = new Uint8Array(4096);
    const n = await readWithin(conn, chunk, 5_000);
    if (n === null) throw new Error("The server closed before answering the handshake");
    received = concat(received, chunk.subarray(0, n));
    end = new TextDecoder().decode(received).indexOf("\r\n\r\n");
  }
  const [statusLine, ...fields] = new TextDecoder().decode(received.subarray(0, end)).split("\r\n");
  const headers = new Headers();
  for (const field of fields) {
    const colon = field.indexOf(":");
    headers.append(field.slice(0, colon).trim(), field.slice(colon + 1).trim());
  }
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    rest: received.subarray(end + 4),
    conn,
    [Symbol.dispose]: () => {
      try {
        conn.close();
      } catch {
        // Closed already, by a read that timed out.
      }
    },
  };
}

/** Sends `{"type":"ping"}` as a masked text frame and reads frames until one says pong. */
async function pingPong(socket: Handshake): Promise<string> {
  const payload = new TextEncoder().encode('{"type":"ping"}');
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const frame = new Uint8Array([0x81, 0x80 | payload.length, ...mask]);
  await socket.conn.write(concat(frame, payload.map((byte, i) => byte ^ mask[i % 4])));
  let received: Uint8Array = socket.rest;
  const deadline = Date.now() + 5_000;
  while (!new TextDecoder().decode(received).includes("pong")) {
    const chunk = new Uint8Array(4096);
    const n = await readWithin(socket.conn, chunk, deadline - Date.now());
    if (n === null) throw new Error("The socket closed before its pong");
    received = concat(received, chunk.subarray(0, n));
  }
  return new TextDecoder().decode(received);
}

/** One read, or an error once `ms` passed without a byte (the connection is closed then). */
async function readWithin(conn: Deno.Conn, into: Uint8Array, ms: number): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      conn.close();
      reject(new Error(`Nothing from the server within ${ms} ms`));
    }, Math.max(ms, 0));
  });
  try {
    return await Promise.race([conn.read(into), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

withDrivers("GET /api/sync/ws handshake", (_open, kind) => {
  Deno.test({
    name:
      "takes the subprotocol list with any spacing, echoes only devpocket.sync.v1, never the token",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const { token } = await t.device("alice");
      const lists = [
        `devpocket.sync.v1, bearer.${token}`,
        `devpocket.sync.v1,bearer.${token}`,
        `bearer.${token} ,\tdevpocket.sync.v1`,
        `devpocket.sync.v1 , , bearer.${token}`,
      ];
      for (const list of lists) {
        using socket = await handshake(base, "/api/sync/ws", list);
        assert.equal(socket.status, 101, `${JSON.stringify(list)} upgrades`);
        assert.equal(socket.headers.get("sec-websocket-protocol"), "devpocket.sync.v1");
        assert.ok(!JSON.stringify([...socket.headers]).includes(token), "the token is not echoed");
        assert.match(await pingPong(socket), /"type":"pong"/, `${JSON.stringify(list)} is live`);
      }
    },
  });

  Deno.test({
    name:
      "echoes nothing when no subprotocol is offered (?token=), refuses a list without devpocket.sync.v1",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const { token } = await t.device("alice");
      {
        using socket = await handshake(base, `/api/sync/ws?token=${token}`);
        assert.equal(socket.status, 101);
        assert.equal(socket.headers.get("sec-websocket-protocol"), null);
        assert.match(await pingPong(socket), /"type":"pong"/);
      }
      {
        using socket = await handshake(base, "/api/sync/ws", `bearer.${token}`);
        assert.equal(socket.status, 422);
        const length = Number(socket.headers.get("content-length"));
        const body = JSON.parse(new TextDecoder().decode(socket.rest.subarray(0, length)));
        assert.equal(body.error.code, "VALIDATION_FAILED");
        assert.deepEqual(Object.keys(body.error.details.fields), ["sec-websocket-protocol"]);
      }
    },
  });
});
