import assert from "node:assert/strict";
import { AckPacer } from "../../client/ack_pacer.ts";
import { FakeRuntime } from "./fake_runtime.ts";

Deno.test("AckPacer sends at most one ack per interval, always the newest cursor, and again after a reset", async () => {
  const runtime = new FakeRuntime(0);
  const sent: [number, string][] = [];
  let cursor: string | null = null;
  let open = true;
  const pacer = new AckPacer(
    runtime,
    1_000,
    () => cursor,
    (c) => open && !!sent.push([runtime.now(), c]),
  );
  pacer.offer();
  assert.deepEqual(sent, [], "nothing applied yet, nothing to acknowledge");
  cursor = "c1.1";
  pacer.offer();
  await runtime.advance(100);
  cursor = "c1.2";
  pacer.offer();
  cursor = "c1.3";
  pacer.offer();
  await runtime.advance(2_000);
  assert.deepEqual(sent, [[0, "c1.1"], [1_000, "c1.3"]]);
  pacer.offer();
  assert.equal(sent.length, 2, "the same cursor is not acknowledged twice");
  // A new connection: the cursor is acknowledged on it again, once the socket takes it.
  pacer.reset();
  open = false;
  pacer.offer();
  open = true;
  pacer.offer();
  assert.deepEqual(sent.at(-1), [2_100, "c1.3"]);
  pacer.stop();
  assert.equal(runtime.pending, 0);
});
