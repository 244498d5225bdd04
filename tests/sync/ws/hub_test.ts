import assert from "node:assert/strict";
import type { Bus } from "../../../sync/bus/bus.ts";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { userChannel } from "../../../sync/events.ts";
import { SILENT_LOGGER } from "../../../sync/logger.ts";
import type { SyncStore } from "../../../sync/sync_store.ts";
import { Hub } from "../../../sync/ws/hub.ts";
import { FakeSocket } from "./fake_socket.ts";

type Who = NonNullable<Parameters<Hub["handle"]>[1]>;

/** Alice's device as a socket presents it, with the hash of the token it used. */
function device(deviceId: string, tokenHash = `hash-of-${deviceId}`): Who {
  return { deviceId, tokenHash, account: { userId: "alice", tier: "pro", teamId: null } } as Who;
}

const who = device("device-a");

/** Which device each token hash belongs to now; a token missing here no longer works. */
function tokens(...devices: Who[]): Map<string, string> {
  return new Map(devices.map((d) => [d.tokenHash, d.deviceId]));
}

/** A store double answering token lookups from `valid` (a test changes it to revoke). */
function tokenLookup(valid: Map<string, string>) {
  const account = { userId: "alice", tier: "pro", teamId: null };
  return (hash: string) =>
    Promise.resolve(valid.has(hash) ? { device: { id: valid.get(hash) }, account } : null);
}

// Only what the hub calls on these paths; anything else would fail the test loudly.
const store = {
  findDeviceByTokenHash: tokenLookup(tokens(who)),
  getItem: () => Promise.resolve(null),
  touchDevices: () => Promise.resolve(),
} as unknown as SyncStore;

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

async function opened(hub: Hub, as: Who = who): Promise<FakeSocket> {
  const socket = new FakeSocket();
  hub.handle(socket as unknown as WebSocket, as);
  socket.dispatchEvent(new Event("open"));
  await tick();
  return socket;
}

const changes = (cursor: string) =>
  JSON.stringify({
    type: "changes",
    cursor,
    collections: ["commands"],
    origin_device_id: "device-b",
  });

Deno.test("Hub closes a socket whose send buffer is over the limit with 1013", async () => {
  const bus = new MemoryBus();
  const hub = new Hub({ bus, store, logger: SILENT_LOGGER, maxBufferedBytes: 1000 });
  const socket = await opened(hub);
  await bus.publish(userChannel("alice"), changes("c1.1"));
  await tick();
  assert.deepEqual(socket.sent, [{
    type: "sync_data_available",
    cursor: "c1.1",
    collections: ["commands"],
    origin_device_id: "device-b",
  }]);
  socket.bufferedAmount = 1001;
  await bus.publish(userChannel("alice"), changes("c1.2"));
  await tick();
  assert.equal(socket.sent.length, 1);
  assert.equal(socket.closedWith, 1013);
  assert.deepEqual(hub.stats(), { sockets: 0, users: 0 });
  await hub.close();
});

Deno.test("Hub closes a socket that sends more than its message budget with 4429", async () => {
  const hub = new Hub({
    bus: new MemoryBus(),
    store,
    logger: SILENT_LOGGER,
    maxMessagesPerMinute: 2,
  });
  const socket = await opened(hub);
  socket.receive('{"type":"ping"}');
  socket.receive('{"type":"ping"}');
  await tick();
  assert.deepEqual(socket.sent, [{ type: "pong" }, { type: "pong" }]);
  assert.equal(socket.closedWith, null);
  socket.receive('{"type":"ping"}');
  await tick();
  assert.equal(socket.sent.length, 2);
  assert.equal(socket.closedWith, 4429);
  await hub.close();
});

Deno.test("Hub closes with 1011 when the user's channel cannot be subscribed", async () => {
  const failing: Bus = Object.assign(new MemoryBus(), {
    subscribe: () => Promise.reject(new Error("broker down")),
  });
  const hub = new Hub({ bus: failing, store, logger: SILENT_LOGGER });
  const socket = await opened(hub);
  assert.equal(socket.closedWith, 1011);
  await hub.close();
});

Deno.test("Hub refuses new sockets with 1012 once closing, and acceptsOrigin() follows the list", async () => {
  const hub = new Hub({
    bus: new MemoryBus(),
    store,
    logger: SILENT_LOGGER,
    allowedOrigins: ["https://app.devpocket.dev"],
  });
  assert.equal(hub.acceptsOrigin("https://app.devpocket.dev"), true);
  assert.equal(hub.acceptsOrigin("https://app.devpocket.dev:443"), true);
  assert.equal(hub.acceptsOrigin("http://app.devpocket.dev"), false);
  assert.equal(hub.acceptsOrigin("null"), false);
  assert.equal(hub.acceptsOrigin(undefined), true);
  await hub.close();
  const socket = await opened(hub);
  assert.equal(socket.closedWith, 1012);
  assert.equal(
    new Hub({ bus: new MemoryBus(), store, logger: SILENT_LOGGER }).acceptsOrigin("x"),
    true,
  );
});

/** A bus whose subscriptions can be told they resumed after a gap, as RedisBus does. */
class ResumableBus extends MemoryBus {
  readonly #resumers = new Map<string, () => void>();

  override subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    if (onResumed) this.#resumers.set(channel, onResumed);
    return super.subscribe(channel, onMessage);
  }

  resume(channel: string): void {
    this.#resumers.get(channel)?.();
  }
}

/** The `sync_data_available` messages a socket was sent (device_status ones aside). */
const hints = (socket: FakeSocket) =>
  socket.sent.filter((m) => (m as { type: string }).type === "sync_data_available");

Deno.test("Hub catches every socket up from its cursor when the bus resumes after a gap", async () => {
  const bus = new ResumableBus();
  // The user's changes 1..head, all made by device-b; the bus delivers none of them here.
  let head = 2;
  const reads: number[] = [];
  const changesStore = {
    ...store,
    findDeviceByTokenHash: tokenLookup(tokens(who, device("device-c"))),
    setDeviceCursor: () => Promise.resolve(),
    pull: (_userId: string, since: number) => {
      reads.push(since);
      const rows = [];
      for (let seq = since + 1; seq <= head; seq++) {
        rows.push({ collection: "commands", device_id: "device-b", seq });
      }
      return Promise.resolve({ rows, head, purgedSeq: 0 });
    },
  } as unknown as SyncStore;
  const hub = new Hub({ bus, store: changesStore, logger: SILENT_LOGGER });
  const behind = await opened(hub);
  const atHead = await opened(hub, device("device-c"));
  const silent = await opened(hub);
  behind.receive(JSON.stringify({ type: "hello", cursor: "c1.2" }));
  await tick();
  assert.deepEqual(hints(behind), [], "at the head on hello: nothing to say");

  // While the bus was away, changes 3..5 committed and their events were lost.
  head = 5;
  atHead.receive(JSON.stringify({ type: "ack", cursor: "c1.5" }));
  await tick();
  reads.length = 0;
  bus.resume(userChannel("alice"));
  await tick();
  const hint = {
    type: "sync_data_available",
    cursor: "c1.5",
    collections: ["commands"],
    origin_device_id: "device-b",
  };
  assert.deepEqual(hints(behind), [hint]);
  assert.deepEqual(reads, [2, 5], "from each socket's own cursor; none for the one without hello");
  assert.deepEqual(hints(atHead), [], "acked the head: nothing to say");
  assert.deepEqual(hints(silent), [], "no hello yet: its hello catches it up");

  // The hint moved the socket's cursor: a second gap with nothing new says nothing.
  bus.resume(userChannel("alice"));
  await tick();
  assert.deepEqual(hints(behind), [hint]);
  await hub.close();
});

Deno.test("Hub (store, socket and bus doubles) closes, after a bus gap, the sockets whose token stopped working meanwhile, and catches up only the others", async () => {
  const bus = new ResumableBus();
  const deviceC = device("device-c");
  const valid = tokens(who, deviceC);
  const reads: number[] = [];
  const gapStore = {
    ...store,
    findDeviceByTokenHash: tokenLookup(valid),
    pull: (_userId: string, since: number) => {
      reads.push(since);
      const rows = [{ collection: "commands", device_id: "device-b", seq: 3 }];
      return Promise.resolve({ rows, head: 3, purgedSeq: 0 });
    },
  } as unknown as SyncStore;
  const hub = new Hub({ bus, store: gapStore, logger: SILENT_LOGGER });
  const kept = await opened(hub);
  const revoked = await opened(hub, deviceC);
  for (const socket of [kept, revoked]) {
    socket.receive(JSON.stringify({ type: "hello", cursor: "c1.3" }));
  }
  await tick();
  reads.length = 0;

  // While the bus was away, device-c was deleted (or registered again): its revoke was lost.
  valid.delete(deviceC.tokenHash);
  bus.resume(userChannel("alice"));
  await tick();
  assert.equal(revoked.closedWith, 4401);
  assert.equal(kept.closedWith, null);
  assert.deepEqual(reads, [3], "only the socket still valid is caught up");
  assert.deepEqual(hub.stats(), { sockets: 1, users: 1 });
  await hub.close();
});

Deno.test("Hub (store and socket doubles) closes only the sockets of a replaced token when the device's token_replaced event arrives", async () => {
  const bus = new MemoryBus();
  const oldToken = device("device-a", "old-hash");
  const newToken = device("device-a", "new-hash");
  const other = device("device-b");
  const valid = tokens(oldToken, newToken, other);
  const hub = new Hub({
    bus,
    store: { ...store, findDeviceByTokenHash: tokenLookup(valid) } as unknown as SyncStore,
    logger: SILENT_LOGGER,
  });
  const [before, after, bystander] = [
    await opened(hub, oldToken),
    await opened(hub, newToken),
    await opened(hub, other),
  ];
  valid.delete(oldToken.tokenHash);
  await bus.publish(
    userChannel("alice"),
    JSON.stringify({ type: "token_replaced", device_id: "device-a" }),
  );
  await tick();
  assert.deepEqual([before, after, bystander].map((s) => s.closedWith), [4401, null, null]);
  assert.deepEqual(
    bystander.sent.filter((m) => (m as { type: string }).type !== "device_status"),
    [],
  );
  await hub.close();
});
