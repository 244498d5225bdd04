import assert from "node:assert/strict";
import { decodeSince, encodeCursor } from "../../../sync/cursor.ts";
import type { SyncEvent } from "../../../sync/events.ts";
import { SILENT_LOGGER } from "../../../sync/logger.ts";
import type { SyncStore } from "../../../sync/sync_store.ts";
import type { Account } from "../../../sync/tiers.ts";
import { Connection } from "../../../sync/ws/connection.ts";
import { dispatchEvent } from "../../../sync/ws/dispatch.ts";
import type { HubContext } from "../../../sync/ws/hub_context.ts";
import { UserSockets } from "../../../sync/ws/user_sockets.ts";
import { FakeSocket } from "./fake_socket.ts";

const LIMITS = { maxBufferedBytes: 1 << 20, maxMessagesPerMinute: 1_000 };

/** Alice's sockets (store and socket doubles), her settings narrowing what `narrowed` receives. */
function aliceWith(
  devices: { id: string; teamId?: string }[],
  narrowed: string,
): { user: UserSockets; context: HubContext; sockets: Map<string, FakeSocket> } {
  const settings = { device_policies: { [narrowed]: { collections: ["settings"] } } };
  const store = {
    getItem: () => Promise.resolve({ data: settings, deleted: false }),
  } as unknown as SyncStore;
  const context: HubContext = {
    store,
    logger: SILENT_LOGGER,
    publish: () => Promise.resolve(),
    track: (work) => work,
  };
  const user = new UserSockets("alice", context, Promise.resolve(true));
  const sockets = new Map<string, FakeSocket>();
  for (const { id, teamId = null } of devices) {
    const socket = new FakeSocket();
    const account = { userId: "alice", tier: "team", teamId, teamRole: "member" } as Account;
    const who = { deviceId: id, tokenHash: `hash-of-${id}`, account };
    user.connections.add(new Connection(socket as unknown as WebSocket, who, LIMITS));
    sockets.set(id, socket);
  }
  return { user, context, sockets };
}

const changes = (seq: number): SyncEvent => ({
  type: "changes",
  cursor: encodeCursor(seq),
  collections: ["commands", "settings"],
  origin_device_id: "phone",
});

Deno.test("dispatchEvent: each socket is told what its own policy and team make of an event, however its neighbours differ", async () => {
  // Interleaved: a socket's message is never the one built for the socket before it.
  const { user, context, sockets } = aliceWith(
    [{ id: "laptop" }, { id: "watch" }, { id: "tablet" }, { id: "desk", teamId: "t1" }, {
      id: "phone",
    }],
    "watch",
  );
  await dispatchEvent(context, user, changes(7));
  const hint = (collections: string[], cursor = "c1.7") => [{
    type: "sync_data_available",
    cursor,
    collections,
    origin_device_id: "phone",
  }];
  assert.deepEqual(sockets.get("laptop")!.sent, hint(["commands", "settings"]));
  assert.deepEqual(sockets.get("watch")!.sent, hint(["settings"]), "its policy narrows it");
  assert.deepEqual(sockets.get("tablet")!.sent, hint(["commands", "settings"]));
  const teamCursor = (sockets.get("desk")!.sent[0] as { cursor: string }).cursor;
  assert.deepEqual(sockets.get("desk")!.sent, hint(["commands", "settings"], teamCursor));
  assert.deepEqual(decodeSince(teamCursor, "t1"), { user: 7, team: 0, expired: false });
  assert.deepEqual(sockets.get("phone")!.sent, [], "the pusher is not told of its own push");
});

Deno.test("dispatchEvent: a shared message still goes by each socket's own cursor", async () => {
  const { user, context, sockets } = aliceWith([{ id: "laptop" }, { id: "tablet" }], "none");
  await dispatchEvent(context, user, changes(5));
  const [laptop] = [...user.connections];
  // The laptop said hello at 9: a hint of 8 tells it nothing; the tablet still hears of it.
  laptop.noteCursor(decodeSince(encodeCursor(9), null), { checked: true });
  await dispatchEvent(context, user, changes(8));
  assert.deepEqual(sockets.get("laptop")!.sent.map((m) => (m as { cursor: string }).cursor), [
    "c1.5",
  ]);
  assert.deepEqual(sockets.get("tablet")!.sent.map((m) => (m as { cursor: string }).cursor), [
    "c1.5",
    "c1.8",
  ]);
  assert.deepEqual(user.connections.values().next().value!.cursor, {
    user: 9,
    team: 0,
    expired: false,
  });
});
