import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";
import { command } from "../support/changes.ts";
import { assertPong, connectWs } from "../support/ws_client.ts";

Deno.test("GET /api/sync/ws reports a long catch-up with sync_progress until the device acks the head", async () => {
  await using t = await openTestApp("pglite");
  const base = await t.serve();
  const writer = await t.device("alice", "writer");
  const reader = await t.device("alice", "reader");
  let head = "";
  for (let batch = 0; batch < 2; batch++) {
    const changes = Array.from({ length: 400 }, (_, i) => command(`echo ${batch}-${i}`));
    const res = await t.request("POST", "/api/sync/data", {
      token: writer.token,
      body: { changes },
    });
    head = (await res.json()).cursor;
  }
  await using socket = await connectWs(base, reader.token);
  socket.send({ type: "hello", cursor: "c1.0" });
  const hint = await socket.next();
  assert.equal(hint.type === "sync_data_available" && hint.cursor, head);
  assert.deepEqual(await socket.next(), {
    type: "sync_progress",
    operation: "catch_up",
    done: 0,
    total: 800,
  });

  // The device pulls a page of 500, acks it, then the rest.
  const page = await (await t.request("GET", "/api/sync/data?limit=500", { token: reader.token }))
    .json();
  socket.send({ type: "ack", cursor: page.cursor });
  assert.deepEqual(await socket.next(), {
    type: "sync_progress",
    operation: "catch_up",
    done: 500,
    total: 800,
  });
  socket.send({ type: "ack", cursor: head });
  assert.deepEqual(await socket.next(), {
    type: "sync_progress",
    operation: "catch_up",
    done: 800,
    total: 800,
  });
  // Done: later acks are not reported.
  socket.send({ type: "ack", cursor: head });
  await assertPong(socket);
});

Deno.test("GET /api/sync/ws sends no sync_progress for a short catch-up", async () => {
  await using t = await openTestApp("pglite");
  const base = await t.serve();
  const writer = await t.device("alice", "writer");
  const reader = await t.device("alice", "reader");
  await t.request("POST", "/api/sync/data", {
    token: writer.token,
    body: { changes: [command("ls")] },
  });
  await using socket = await connectWs(base, reader.token);
  socket.send({ type: "hello", cursor: "c1.0" });
  assert.equal((await socket.next()).type, "sync_data_available");
  await assertPong(socket);
});
