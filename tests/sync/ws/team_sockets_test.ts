/** The hub's team side (team_sockets.ts) with store and socket doubles, on the in-process bus. */
import assert from "node:assert/strict";
import { MemoryBus } from "../../../sync/bus/memory_bus.ts";
import { encodePosition } from "../../../sync/cursor.ts";
import { teamChannel, userChannel } from "../../../sync/events.ts";
import { SILENT_LOGGER } from "../../../sync/logger.ts";
import type { SyncStore } from "../../../sync/sync_store.ts";
import type { Account } from "../../../sync/tiers.ts";
import { Hub } from "../../../sync/ws/hub.ts";
import { FakeSocket } from "./fake_socket.ts";

/** The in-process bus, recording every subscribe and unsubscribe; `resume` fakes a gap's end. */
class RecordingBus extends MemoryBus {
  readonly ops: string[] = [];
  readonly #resumed = new Map<string, () => void>();
  override subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    this.ops.push(`+${channel}`);
    if (onResumed) this.#resumed.set(channel, onResumed);
    return super.subscribe(channel, onMessage);
  }
  resume(channel: string): void {
    this.#resumed.get(channel)?.();
  }
  override unsubscribe(channel: string): Promise<void> {
    this.ops.push(`-${channel}`);
    return super.unsubscribe(channel);
  }
}

const accounts = new Map<string, Account>();
function member(userId: string, teamId: string | null): Account {
  const account: Account = {
    userId,
    tier: "team",
    tierExpiresAt: null,
    teamId,
    teamRole: "member",
  };
  accounts.set(userId, account);
  return account;
}

/** Each owner's stream as the store double answers pulls of it: head and rows. */
const streams = new Map<string, { head: number; rows: unknown[] }>();

// Each user has one device, `<user>-device`, whose token hash is `hash-<user>`.
const store = {
  pull: (owner: string, since: number) => {
    const { head, rows } = streams.get(owner) ?? { head: 0, rows: [] };
    return Promise.resolve({
      head,
      purgedSeq: 0,
      rows: rows.filter((row) => (row as { seq: number }).seq > since),
    });
  },
  findDeviceByTokenHash: (hash: string) => {
    const account = accounts.get(hash.slice("hash-".length));
    return Promise.resolve(
      account ? { device: { id: `${account.userId}-device` }, account } : null,
    );
  },
  getItem: () => Promise.resolve(null),
  touchDevices: () => Promise.resolve(),
} as unknown as SyncStore;

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

async function opened(hub: Hub, account: Account): Promise<FakeSocket> {
  const socket = new FakeSocket();
  const who = {
    deviceId: `${account.userId}-device`,
    tokenHash: `hash-${account.userId}`,
    account,
  };
  hub.handle(socket as unknown as WebSocket, who);
  socket.dispatchEvent(new Event("open"));
  await tick();
  return socket;
}

const changes = (seq: number) =>
  JSON.stringify({
    type: "changes",
    cursor: `c1.${seq.toString(36)}`,
    collections: ["team_ssh_profiles"],
    origin_device_id: "ann-device",
  });

Deno.test("Hub subscribes a team's channel once for its members' sockets here and drops it with the last", async () => {
  const bus = new RecordingBus();
  const hub = new Hub({ bus, store, logger: SILENT_LOGGER });
  const [ann, bob, cid, dee] = [
    member("ann", "acme"),
    member("bob", "acme"),
    member("cid", "globex"),
    member("dee", null),
  ];
  const sockets = [await opened(hub, ann), await opened(hub, bob), await opened(hub, cid)];
  const deeSocket = await opened(hub, dee);
  const teamOps = () => bus.ops.filter((op) => op.includes(":team:"));
  assert.deepEqual(teamOps(), [`+${teamChannel("acme")}`, `+${teamChannel("globex")}`]);

  await bus.publish(teamChannel("acme"), changes(3));
  await tick();
  const hint = {
    type: "sync_data_available",
    cursor: encodePosition({ user: 0, team: 3 }, "acme"),
    collections: ["team_ssh_profiles"],
    origin_device_id: "ann-device",
  };
  // Ann's device made the change: only Bob's hears of it; other teams' and no team's, nothing.
  assert.deepEqual(sockets.map((s) => s.sent), [[], [hint], []]);
  assert.deepEqual(deeSocket.sent, []);

  sockets[0].close(1000);
  await tick();
  assert.equal(teamOps().length, 2, "Bob still listens to acme here");
  sockets[1].close(1000);
  await tick();
  assert.equal(teamOps().at(-1), `-${teamChannel("acme")}`);
  await hub.close();
  assert.equal(teamOps().at(-1), `-${teamChannel("globex")}`);
});

Deno.test("Hub asks the sockets of a user whose team changed to reconnect (1012), and only those", async () => {
  const bus = new RecordingBus();
  const hub = new Hub({ bus, store, logger: SILENT_LOGGER });
  const eve = await opened(hub, member("eve", "acme"));
  const fay = await opened(hub, member("fay", "acme"));
  // The same team again (a new role, say): nothing to do.
  await bus.publish(userChannel("fay"), JSON.stringify({ type: "team_changed", team_id: "acme" }));
  await bus.publish(userChannel("eve"), JSON.stringify({ type: "team_changed", team_id: null }));
  await tick();
  assert.deepEqual([eve.closedWith, fay.closedWith], [1012, null]);
  // Eve's socket was acme's last but one: Fay's keeps the channel.
  assert.ok(!bus.ops.includes(`-${teamChannel("acme")}`));

  // A socket that opens with a stale account (the change landed in between) is caught when
  // the hub checks the device after subscribing.
  member("gus", "acme");
  const stale = await opened(hub, { ...accounts.get("gus")!, teamId: "globex" });
  assert.equal(stale.closedWith, 1012);
  await hub.close();
});

Deno.test("Hub catches a team's sockets up from their cursors when the team's channel resumes after a gap", async () => {
  const bus = new RecordingBus();
  const hub = new Hub({ bus, store, logger: SILENT_LOGGER });
  const socket = await opened(hub, member("hal", "acme"));
  socket.receive(
    JSON.stringify({ type: "hello", cursor: encodePosition({ user: 0, team: 0 }, "acme") }),
  );
  await tick();
  assert.deepEqual(socket.sent, [], "nothing to catch up yet");
  // Committed while the channel was away: its event never arrived.
  streams.set("team:acme", {
    head: 4,
    rows: [{ collection: "team_ssh_profiles", device_id: "ann-device", seq: 4 }],
  });
  bus.resume(teamChannel("acme"));
  await tick();
  assert.deepEqual(socket.sent, [{
    type: "sync_data_available",
    cursor: encodePosition({ user: 0, team: 4 }, "acme"),
    collections: ["team_ssh_profiles"],
    origin_device_id: "ann-device",
  }]);
  await hub.close();
});
