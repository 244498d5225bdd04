import assert from "node:assert/strict";
import { openTestApp, type TestApp } from "../support/app.ts";
import { type DriverKind, withDrivers } from "../support/drivers.ts";
import { assertPong, connectWs, type WsClient } from "../support/ws_client.ts";

const DATA: Record<string, (n: number) => Record<string, unknown>> = {
  commands: (n) => ({
    command: `ls -la ${n}`,
    session_id: "s1",
    started_at: 1_700_000_000_000 + n,
  }),
  ssh_profiles: (n) => ({ name: `box ${n}`, host: `h${n}.example`, username: "me" }),
  settings: () => ({ theme: "dark" }),
};

// Command history dedupes on (command, session): every pushed command must differ.
let unique = 0;

/** Pushes one upsert per collection named; returns the push response. */
async function push(
  t: TestApp,
  token: string,
  changes: { collection: string; id?: string; data?: Record<string, unknown> }[],
): Promise<{ results: { status: string }[]; cursor: string }> {
  const res = await t.request("POST", "/api/sync/data", {
    token,
    body: {
      changes: changes.map((c) => ({
        change_id: crypto.randomUUID(),
        collection: c.collection,
        id: c.id ?? crypto.randomUUID(),
        op: "upsert",
        data: c.data ?? DATA[c.collection](unique++),
        base_version: null,
        modified_at: Date.now(),
      })),
    },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json();
  for (const r of body.results) assert.ok(["applied", "merged"].includes(r.status), r.status);
  return body;
}

/** The app on a real port, with alice's phone and laptop registered. */
interface ServedApp extends AsyncDisposable {
  t: TestApp;
  base: string;
  phone: { id: string; token: string };
  laptop: { id: string; token: string };
}

async function serveAlice(kind: DriverKind): Promise<ServedApp> {
  const t = await openTestApp(kind);
  try {
    const base = await t.serve();
    const phone = await t.device("alice", "phone");
    const laptop = await t.device("alice", "laptop");
    return { t, base, phone, laptop, [Symbol.asyncDispose]: () => t[Symbol.asyncDispose]() };
  } catch (error) {
    await t[Symbol.asyncDispose]();
    throw error;
  }
}

async function assertDeviceStatus(
  ws: WsClient,
  deviceId: string,
  status: "online" | "offline" | "revoked",
): Promise<void> {
  assert.deepEqual(await ws.next(), { type: "device_status", device_id: deviceId, status });
}

/** Checks that the next message is a hint naming exactly `collections`, in that order. */
async function assertHint(
  ws: WsClient,
  cursor: string,
  collections: string[],
  originDeviceId: string,
): Promise<void> {
  assert.deepEqual(await ws.next(), {
    type: "sync_data_available",
    cursor,
    collections,
    origin_device_id: originDeviceId,
  });
}

withDrivers("GET /api/sync/ws", (_open, kind) => {
  Deno.test({
    name: "takes the token in the subprotocol or ?token= and echoes only devpocket.sync.v1",
    fn: async () => {
      await using served = await serveAlice(kind);
      const { t, base, phone, laptop } = served;

      await using a = await connectWs(base, phone.token, { via: "protocol" });
      assert.equal(a.socket.protocol, "devpocket.sync.v1");
      await assertPong(a);

      // ?token= with no subprotocol offered: none may be echoed, or the handshake fails.
      await using b = await connectWs(base, laptop.token, { via: "query" });
      assert.equal(b.socket.protocol, "");
      await assertPong(b);
      await assertDeviceStatus(a, laptop.id, "online");

      // ?token= beside the bare protocol (a browser that cannot put the token in the list).
      await using c = await connectWs(base, laptop.token, {
        via: "query",
        protocols: ["devpocket.sync.v1"],
      });
      assert.equal(c.socket.protocol, "devpocket.sync.v1");
      // The laptop was already online here: a second socket announces nothing.
      await a.quiet(200);
      assert.deepEqual(t.hub.stats(), { sockets: 3, users: 1 });

      // The token may come second or first in the list; the echo is never the token.
      await using d = await connectWs(base, phone.token, {
        protocols: [`bearer.${phone.token}`, "devpocket.sync.v1"],
      });
      assert.equal(d.socket.protocol, "devpocket.sync.v1");
      await assertPong(d);
    },
  });

  Deno.test({
    name: "a missing, malformed or unknown token is closed with 4401",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const phone = await t.device("alice");
      const cases = [
        connectWs(base, "dpd_notarealtoken", { via: "protocol" }),
        connectWs(base, "dpd_notarealtoken", { via: "query" }),
        connectWs(base, "not-a-device-token", { via: "protocol" }),
        connectWs(base, "", { via: "none", protocols: ["devpocket.sync.v1"] }),
        // An account token is not a device token.
        connectWs(base, await t.accountToken("alice"), { via: "query" }),
      ];
      for (const pending of cases) {
        await using ws = await pending;
        assert.equal((await ws.closed).code, 4401);
      }
      assert.deepEqual(t.hub.stats(), { sockets: 0, users: 0 });
      await using ok = await connectWs(base, phone.token);
      await assertPong(ok);
    },
  });

  Deno.test({
    name: "hello with an old cursor gets sync_data_available at once; at the head, nothing",
    fn: async () => {
      await using served = await serveAlice(kind);
      const { t, base, phone, laptop } = served;
      await push(t, laptop.token, [{ collection: "commands" }]);
      const mid = await push(t, laptop.token, [{ collection: "ssh_profiles" }]);
      const head = await push(t, laptop.token, [{ collection: "commands" }, {
        collection: "settings",
        id: "ui",
      }]);

      await using ws = await connectWs(base, phone.token);
      ws.send({ type: "hello", cursor: "c1.0" });
      await assertHint(ws, head.cursor, ["commands", "ssh_profiles", "settings"], laptop.id);
      // Only what changed after the cursor is named.
      ws.send({ type: "hello", cursor: mid.cursor });
      await assertHint(ws, head.cursor, ["commands", "settings"], laptop.id);
      // A device that never synced may say hello without a cursor.
      ws.send({ type: "hello" });
      assert.equal((await ws.next()).type, "sync_data_available");
      // Replies keep request order: no hint at the head, so the pong comes next.
      ws.send({ type: "hello", cursor: head.cursor });
      await assertPong(ws);
    },
  });

  Deno.test({
    name: "a push on one device reaches the others with the push's cursor, not the pusher",
    fn: async () => {
      await using served = await serveAlice(kind);
      const { t, base, phone, laptop } = served;
      const bob = await t.device("bob", "bob-phone");
      await using a = await connectWs(base, phone.token);
      await using b = await connectWs(base, laptop.token);
      await using other = await connectWs(base, bob.token);
      await assertDeviceStatus(a, laptop.id, "online");
      for (const ws of [a, b]) {
        ws.send({ type: "hello", cursor: "c1.0" });
        await assertPong(ws);
      }

      const first = await push(t, laptop.token, [{ collection: "commands" }]);
      const second = await push(t, laptop.token, [{ collection: "ssh_profiles" }, {
        collection: "commands",
      }]);
      await assertHint(a, first.cursor, ["commands"], laptop.id);
      const hint = await a.next();
      assert.equal(hint.type, "sync_data_available");
      assert.equal(hint.type === "sync_data_available" && hint.cursor, second.cursor);
      assert.deepEqual(
        hint.type === "sync_data_available" && [...hint.collections].sort(),
        ["commands", "ssh_profiles"],
      );
      // The hint reached every socket of the user together: the pusher's next is its pong.
      await assertPong(b);
      // Another user hears nothing.
      await assertPong(other);
    },
  });

  Deno.test({
    name: "ack stores the cursor and tells the other devices sync_completed",
    fn: async () => {
      await using served = await serveAlice(kind);
      const { t, base, phone, laptop } = served;
      await using b = await connectWs(base, laptop.token);
      await using a = await connectWs(base, phone.token);
      await assertDeviceStatus(b, phone.id, "online");
      const pushed = await push(t, laptop.token, [{ collection: "commands" }]);
      await assertHint(a, pushed.cursor, ["commands"], laptop.id);

      a.send({ type: "ack", cursor: pushed.cursor });
      assert.deepEqual(await b.next(), {
        type: "sync_completed",
        device_id: phone.id,
        cursor: pushed.cursor,
      });
      const res = await t.request("GET", "/api/devices", { token: laptop.token });
      const { devices } = await res.json();
      const stored = devices.find((d: { id: string }) => d.id === phone.id);
      assert.equal(stored.cursor, pushed.cursor);
      assert.equal(stored.online, true);
      // The acking device is not told of its own ack.
      await assertPong(a);
    },
  });

  Deno.test({
    name: "deleting a device closes its sockets with 4401 and tells the others it is revoked",
    fn: async () => {
      await using served = await serveAlice(kind);
      const { t, base, phone, laptop } = served;
      await using b = await connectWs(base, laptop.token);
      await using a1 = await connectWs(base, phone.token);
      await using a2 = await connectWs(base, phone.token, { via: "query" });
      await assertDeviceStatus(b, phone.id, "online");

      const res = await t.request("DELETE", `/api/devices/${phone.id}`, { token: laptop.token });
      assert.equal(res.status, 204);
      assert.equal((await a1.closed).code, 4401);
      assert.equal((await a2.closed).code, 4401);
      await assertDeviceStatus(b, phone.id, "revoked");
      // No "offline" follows "revoked".
      await assertPong(b);
      // And the token no longer opens a socket.
      await using again = await connectWs(base, phone.token);
      assert.equal((await again.closed).code, 4401);
      assert.deepEqual(t.hub.stats(), { sockets: 1, users: 1 });
    },
  });

  Deno.test({
    name: "online and offline follow a device's first and last socket",
    fn: async () => {
      await using served = await serveAlice(kind);
      const { t, base, phone, laptop } = served;
      await using b = await connectWs(base, laptop.token);
      const a1 = await connectWs(base, phone.token);
      await assertDeviceStatus(b, phone.id, "online");
      const a2 = await connectWs(base, phone.token);
      await a1[Symbol.asyncDispose]();
      await assertPong(b);
      await a2[Symbol.asyncDispose]();
      await assertDeviceStatus(b, phone.id, "offline");
      assert.deepEqual(t.hub.stats(), { sockets: 1, users: 1 });
    },
  });

  Deno.test({
    name: "a malformed message is answered with an error and the socket stays open",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const phone = await t.device("alice");
      await using ws = await connectWs(base, phone.token);
      const bad: [unknown, string, RegExp][] = [
        ["not json", "VALIDATION_FAILED", /not valid JSON/],
        [{ type: "subscribe" }, "VALIDATION_FAILED", /Unknown message type: "subscribe"/],
        [{ cursor: "c1.0" }, "VALIDATION_FAILED", /must be/],
        [{ type: "ack" }, "VALIDATION_FAILED", /must be/],
        [{ type: "ack", cursor: "bogus" }, "VALIDATION_FAILED", /cursor is not a cursor/],
        [{ type: "hello", cursor: 12 }, "VALIDATION_FAILED", /must be/],
        ["x".repeat(5000), "PAYLOAD_TOO_LARGE", /at most 4096/],
      ];
      for (const [message, code, text] of bad) {
        ws.send(message);
        const reply = await ws.next();
        assert.equal(reply.type, "error");
        assert.equal(reply.type === "error" && reply.code, code);
        assert.match(reply.type === "error" ? reply.message : "", text);
      }
      ws.socket.send(new Uint8Array([1, 2, 3]));
      assert.deepEqual(await ws.next(), {
        type: "error",
        code: "VALIDATION_FAILED",
        message: "Messages must be JSON text",
      });
      await assertPong(ws);
    },
  });

  Deno.test({
    name: "Origin outside the allow-list is refused; listed or absent Origin connects",
    fn: async () => {
      await using t = await openTestApp(kind, {
        hub: { allowedOrigins: ["https://app.devpocket.dev/"] },
      });
      const base = await t.serve();
      const phone = await t.device("alice");
      await assert.rejects(
        connectWs(base, phone.token, { origin: "https://evil.example" }),
        /Upgrade refused/,
      );
      await using listed = await connectWs(base, phone.token, {
        origin: "https://app.devpocket.dev",
      });
      await using native = await connectWs(base, phone.token);
      for (const ws of [listed, native]) {
        await assertPong(ws);
      }
      // Without an upgrade the route answers the contract's error body.
      const res = await t.request("GET", "/api/sync/ws", {});
      assert.equal(res.status, 422);
      assert.equal((await res.json()).error.code, "VALIDATION_FAILED");
    },
  });

  Deno.test({
    name: "device_policies leave other collections out of that device's notifications",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const work = await t.device("alice", "work-laptop");
      const home = await t.device("alice", "home");
      const phone = await t.device("alice", "phone");
      await push(t, phone.token, [{
        collection: "settings",
        id: "sync",
        data: { device_policies: { [work.id]: { collections: ["ssh_profiles"] } } },
      }]);
      await push(t, phone.token, [{ collection: "commands" }]);

      await using w = await connectWs(base, work.token);
      await using h = await connectWs(base, home.token);
      await assertDeviceStatus(w, home.id, "online");
      // Catch-up is filtered too: settings always sync, commands are not this device's.
      w.send({ type: "hello", cursor: "c1.0" });
      const caughtUp = await w.next();
      assert.equal(
        caughtUp.type === "sync_data_available" && caughtUp.collections.join(),
        "settings",
      );

      await push(t, phone.token, [{ collection: "commands" }]);
      const mixed = await push(t, phone.token, [{ collection: "commands" }, {
        collection: "ssh_profiles",
      }]);
      // Home hears both batches; the work laptop only the second, without commands.
      assert.deepEqual((await h.next()).type, "sync_data_available");
      const homeMixed = await h.next();
      assert.deepEqual(
        homeMixed.type === "sync_data_available" && [...homeMixed.collections].sort(),
        ["commands", "ssh_profiles"],
      );
      await assertHint(w, mixed.cursor, ["ssh_profiles"], phone.id);
    },
  });

  Deno.test({
    name: "hub.close() closes every socket with 1012",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const phone = await t.device("alice", "phone");
      const laptop = await t.device("bob", "laptop");
      await using a = await connectWs(base, phone.token);
      await using b = await connectWs(base, laptop.token);
      assert.deepEqual(t.hub.stats(), { sockets: 2, users: 2 });
      await t.hub.close();
      assert.equal((await a.closed).code, 1012);
      assert.equal((await b.closed).code, 1012);
      assert.deepEqual(t.hub.stats(), { sockets: 0, users: 0 });
    },
  });

  Deno.test({
    name: "an open socket keeps last_seen_at fresh",
    fn: async () => {
      await using t = await openTestApp(kind, { hub: { touchEveryMs: 100 } });
      const base = await t.serve();
      const phone = await t.device("alice");
      const seen = async () => {
        const res = await t.request("GET", "/api/devices", { token: phone.token });
        return (await res.json()).devices[0].last_seen_at as number;
      };
      await using ws = await connectWs(base, phone.token);
      const before = await seen();
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.ok((await seen()) > before);
      await assertPong(ws);
    },
  });
});
