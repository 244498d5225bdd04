/** The client's copy of the wire contract agrees with the server's definitions. */
import assert from "node:assert/strict";
import * as wire from "../../client/wire.ts";
import { COLLECTIONS } from "../../sync/collections.ts";
import { ItemId } from "../../sync/change_schema.ts";
import {
  type ClientMessage,
  type ServerMessage,
  WS_BEARER_PREFIX,
  WS_CLOSE,
  WS_PROTOCOL,
} from "../../sync/ws/messages.ts";

Deno.test("wire: the client knows every collection the server syncs", () => {
  for (const collection of COLLECTIONS) {
    assert.ok((wire.COLLECTIONS as readonly string[]).includes(collection), collection);
  }
});

Deno.test("wire: item ids the client accepts are exactly those the server accepts", () => {
  for (const id of ["ui", "a.b:c-d_e", "x".repeat(128), "", "x".repeat(129), "a b", "é", "a/b"]) {
    assert.equal(wire.ITEM_ID.test(id), ItemId.safeParse(id).success, JSON.stringify(id));
  }
});

Deno.test("wire: the socket's subprotocol, token prefix and close codes match the server's", () => {
  assert.equal(wire.WS_PROTOCOL, WS_PROTOCOL);
  assert.equal(wire.WS_BEARER_PREFIX, WS_BEARER_PREFIX);
  assert.deepEqual(
    Object.fromEntries(Object.entries(wire.WS_CLOSE).sort()),
    Object.fromEntries(Object.entries(WS_CLOSE).sort()),
  );
});

/** True only when A and B are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

Deno.test("wire: the client's socket message types are the server's (checked when type-checking)", () => {
  const serverMessages: Same<wire.ServerMessage, ServerMessage> = true;
  const clientMessages: Same<wire.ClientMessage, ClientMessage> = true;
  assert.deepEqual([serverMessages, clientMessages], [true, true]);
});
