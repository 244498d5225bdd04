/**
 * `hello` over a real socket: a cursor the server never issued is refused as a pull's
 * `since` is, a `hello` at the head the cache knows costs no query, and no hint follows for
 * changes it already covers.
 */
import assert from "node:assert/strict";
import { MemorySyncCache } from "../../sync/cache/sync_cache.ts";
import { BROADCAST_CHANNEL, userChannel } from "../../sync/events.ts";
import { openTestApp, type TestApp } from "../support/app.ts";
import { command } from "../support/changes.ts";
import { type DriverKind, openTestDb, type TestDb, withDrivers } from "../support/drivers.ts";
import { countingCalls } from "../support/spies.ts";
import { pushOk } from "../support/sync_api.ts";
import { assertPong, connectWs, type WsClient } from "../support/ws_client.ts";

/** A fresh database whose driver counts the statements and transactions it runs. */
async function countedDb(kind: DriverKind): Promise<TestDb & { queries: () => number }> {
  const db = await openTestDb(kind);
  const { proxy, calls } = countingCalls(db.driver, ["query", "transaction"]);
  return Object.assign(db, { driver: proxy, queries: () => calls.query + calls.transaction });
}

/** Sends `message`, then a ping; resolves with what came before the pong. */
async function answersTo(ws: WsClient, message: unknown): Promise<unknown[]> {
  ws.send(message);
  ws.send({ type: "ping" });
  const replies = [];
  for (let reply = await ws.next(); reply.type !== "pong"; reply = await ws.next()) {
    replies.push(reply);
  }
  return replies;
}

/** The answer to a cursor this server never issued, malformed or past the head alike. */
const REFUSED = {
  type: "error",
  code: "VALIDATION_FAILED",
  message: "cursor is not a cursor this service issued",
};

/** The hint a device gets for a push of commands by `origin`, answered with `cursor`. */
const commandsHint = (cursor: string, origin: { id: string }) => ({
  type: "sync_data_available",
  cursor,
  collections: ["commands"],
  origin_device_id: origin.id,
});

/**
 * Alice's laptop pushes one command per entry of `commands`; her phone opens a socket and
 * says `hello` at the last push's cursor, which nothing answers (it is at the head).
 */
async function phoneAtHead(t: TestApp, commands: string[]) {
  const base = await t.serve();
  const [phone, laptop] = [await t.device("alice", "phone"), await t.device("alice", "laptop")];
  const cursors: string[] = [];
  for (const text of commands) {
    cursors.push((await pushOk(t, laptop.token, [command(text)])).cursor);
  }
  const ws = await connectWs(base, phone.token);
  assert.deepEqual(await answersTo(ws, { type: "hello", cursor: cursors.at(-1) }), []);
  return { ws, laptop, cursors };
}

withDrivers("WebSocket hello", (_open, kind) => {
  Deno.test({
    name:
      "a cursor past the head or malformed is answered VALIDATION_FAILED on the open socket and never becomes the device's position",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const phone = await t.device("alice", "phone");
      const first = await pushOk(t, phone.token, [command("ls")]);
      await using ws = await connectWs(base, phone.token);
      assert.deepEqual(await answersTo(ws, { type: "hello", cursor: first.cursor }), []);

      assert.deepEqual(await answersTo(ws, { type: "hello", cursor: "c1.zzzz" }), [REFUSED]);
      for (const cursor of ["c1.", "c1.-1", "c2.1", "nope", "c1.1.2", "c1.zzzzzzzzzzzz"]) {
        assert.deepEqual(await answersTo(ws, { type: "hello", cursor }), [REFUSED], cursor);
      }
      // The phone's own push is never hinted live; a catch-up after a gap starts from the
      // position the phone gave in its last valid hello, so it names the push.
      const second = await pushOk(t, phone.token, [command("pwd")]);
      await t.bus.publish(BROADCAST_CHANNEL, JSON.stringify({ type: "catch_up" }));
      const hint = await ws.next();
      assert.equal(hint.type, "sync_data_available");
      assert.equal(hint.type === "sync_data_available" && hint.cursor, second.cursor);
      await assertPong(ws);
    },
  });

  Deno.test({
    name:
      "at the head the cache knows, hello costs no query; a push moves the head and the next hello reads and hints",
    fn: async () => {
      const db = await countedDb(kind);
      await using t = await openTestApp(kind, { db, cache: new MemorySyncCache() });
      // The first hello reads the head (and records it); the next one is answered from the cache.
      const at = await phoneAtHead(t, ["ls"]);
      await using ws = at.ws;
      const [laptop, [head]] = [at.laptop, at.cursors];
      let before = db.queries();
      assert.deepEqual(await answersTo(ws, { type: "hello", cursor: head }), []);
      assert.equal(db.queries() - before, 0, "answered from the cache");

      const next = await pushOk(t, laptop.token, [command("pwd")]);
      assert.equal((await ws.next()).type, "sync_data_available", "the live hint");
      before = db.queries();
      const replies = await answersTo(ws, { type: "hello", cursor: head });
      assert.ok(db.queries() > before, "behind the head: read from the database");
      assert.deepEqual(replies, [commandsHint(next.cursor, laptop)]);
      // A cursor past the cached head is still checked against the database.
      assert.deepEqual(await answersTo(ws, { type: "hello", cursor: "c1.zzzz" }), [REFUSED]);
    },
  });

  Deno.test({
    name:
      "a change's event reaching the socket after a hello that covers it is not hinted; a newer change is",
    fn: async () => {
      await using t = await openTestApp(kind);
      const at = await phoneAtHead(t, ["ls", "pwd"]);
      await using ws = at.ws;
      const laptop = at.laptop;

      // The events of both pushes (a bus event has the fields of the hint it becomes), as a
      // slow listener or bus would deliver them now.
      for (const cursor of at.cursors) {
        await t.bus.publish(
          userChannel("alice"),
          JSON.stringify({ ...commandsHint(cursor, laptop), type: "changes" }),
        );
      }
      // A stale hint would come before the pong, or before the next push's hint.
      await assertPong(ws);
      const third = await pushOk(t, laptop.token, [command("whoami")]);
      assert.deepEqual(await ws.next(), commandsHint(third.cursor, laptop));
    },
  });

  Deno.test({
    name:
      "an ack past the head (the server never checks one against it) does not silence the hints of later changes",
    fn: async () => {
      await using t = await openTestApp(kind);
      const at = await phoneAtHead(t, ["ls"]);
      await using ws = at.ws;
      const laptop = at.laptop;
      assert.deepEqual(await answersTo(ws, { type: "ack", cursor: "c1.zz" }), []);

      const next = await pushOk(t, laptop.token, [command("pwd")]);
      assert.deepEqual(await ws.next(), commandsHint(next.cursor, laptop));
    },
  });
});
