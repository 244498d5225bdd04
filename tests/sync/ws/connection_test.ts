import assert from "node:assert/strict";
import type { Since } from "../../../sync/cursor.ts";
import type { Account } from "../../../sync/tiers.ts";
import { Connection } from "../../../sync/ws/connection.ts";
import { FakeSocket } from "./fake_socket.ts";

function teamConnection(): Connection {
  const account = { userId: "alice", tier: "team", teamId: "t1", teamRole: "member" } as Account;
  const who = { deviceId: "laptop", tokenHash: "hash", account };
  return new Connection(new FakeSocket() as unknown as WebSocket, who, {
    maxBufferedBytes: 1 << 20,
    maxMessagesPerMinute: 1_000,
  });
}

const at = (user: number, team: number, expired = false): Since => ({ user, team, expired });

Deno.test("Connection.noteCursor moves each stream forward on its own and never back", () => {
  const connection = teamConnection();
  connection.noteCursor(at(5, 2));
  connection.noteCursor(at(7, 2));
  assert.deepEqual(connection.cursor, at(7, 2), "one ahead on every stream replaces it");
  connection.noteCursor(at(6, 1));
  assert.deepEqual(connection.cursor, at(7, 2), "one behind on every stream changes nothing");
  connection.noteCursor(at(3, 9));
  assert.deepEqual(connection.cursor, at(7, 9), "each stream takes the further of the two");
  connection.noteCursor(at(0, 0, true));
  assert.deepEqual(connection.cursor, at(7, 9), "another team's cursor replaces none");
});

Deno.test("Connection.noteCursor keeps no reference that a later position could change", () => {
  const connection = teamConnection();
  const first = at(5, 2);
  connection.noteCursor(first);
  connection.noteCursor(at(3, 9));
  assert.deepEqual(first, at(5, 2), "the position noted first is left as it was");
  assert.deepEqual(connection.cursor, at(5, 9));
});
