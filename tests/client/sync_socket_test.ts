/**
 * SyncSocket's close-code handling against a scripted WebSocket server (a real socket on
 * 127.0.0.1 that closes each connection as the test says), on a fake clock.
 */
import assert from "node:assert/strict";
import { SyncSocket } from "../../client/sync_socket.ts";
import { WS_PROTOCOL } from "../../client/wire.ts";
import { eventually } from "../support/eventually.ts";
import { FakeRuntime } from "./fake_runtime.ts";

/** What each connection does after `hello`: answer a pong first, then close with `code`. */
type Step = { code: number; pong?: boolean };

function scriptedServer(steps: Step[]) {
  const connections: { protocols: string | null; hello: unknown }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const step = steps[connections.length];
    const seen = { protocols: req.headers.get("sec-websocket-protocol"), hello: null as unknown };
    connections.push(seen);
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: WS_PROTOCOL });
    socket.onmessage = (e) => {
      const message = JSON.parse(e.data);
      if (message.type === "hello") {
        seen.hello = message;
        if (step.pong) socket.send(JSON.stringify({ type: "pong" }));
        setTimeout(() => socket.close(step.code, "scripted"), step.pong ? 20 : 0);
      }
    };
    return response;
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    connections,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("SyncSocket (scripted server): 1012/4429/1013/1011 reconnect with backoff and resume by cursor; 4401 stops", async () => {
  await using server = scriptedServer([
    { code: 1012 },
    { code: 4429 },
    { code: 1013 },
    { code: 1011, pong: true },
    { code: 1012 },
    { code: 4401 },
  ]);
  const runtime = new FakeRuntime(0, [0.5]);
  const closes: [number, number | undefined][] = [];
  let unauthorized = 0;
  let cursor = "c1.1";
  const socket = new SyncSocket({
    baseUrl: server.url,
    token: "dpd_token",
    cursor: () => cursor,
    onMessage: () => {},
    onClose: (code, retryInMs) => closes.push([code, retryInMs]),
    onUnauthorized: () => unauthorized++,
    runtime,
    backoff: { baseMs: 1000, maxMs: 60_000 },
  });
  socket.start();
  for (let n = 1; n <= 5; n++) {
    await eventually(() => closes.length === n, 5_000, `close ${n}`);
    cursor = `c1.${n + 1}`;
    // Nothing reconnects a moment early: the wait is the backoff, on the injected clock.
    await runtime.advance(closes[n - 1][1]! - 1);
    assert.equal(server.connections.length, n);
    await runtime.advance(1);
  }
  await eventually(() => unauthorized === 1, 5_000, "4401 reported");
  assert.deepEqual(closes, [
    [1012, 500], // attempt 0: 0.5 x 1 s
    [4429, 10_000], // attempt 1 would be 1 s; rate limited waits at least 10 s
    [1013, 2_000], // attempt 2
    [1011, 500], // the pong made the connection healthy: back to attempt 0
    [1012, 1_000],
    [4401, undefined],
  ]);
  assert.deepEqual(
    server.connections.map((c) => (c.hello as { cursor: string }).cursor),
    ["c1.1", "c1.2", "c1.3", "c1.4", "c1.5", "c1.6"],
  );
  assert.equal(server.connections[0].protocols, `${WS_PROTOCOL}, bearer.dpd_token`);
  await runtime.advance(120_000);
  assert.equal(server.connections.length, 6, "no reconnect after 4401");
  socket.stop();
});
