import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";
import { command } from "../support/changes.ts";

// Real Postgres only: PGlite runs one transaction at a time, so it cannot interleave commits.
Deno.test("[postgres] an incremental puller never skips a change while writers commit concurrently", async () => {
  await using t = await openTestApp("postgres");
  const writers = await Promise.all([1, 2, 3, 4].map((i) => t.device("alice", `writer-${i}`)));
  const reader = await t.device("alice", "reader");
  const pushed = new Set<string>();
  const seen = new Set<string>();
  // Collected while writers and the reader run, asserted once both are done: an assertion
  // thrown inside a running loop would surface late, or leave the other side running.
  const violations: string[] = [];
  let writing = true;

  const write = async (token: string) => {
    for (let batch = 0; batch < 15; batch++) {
      const changes = Array.from(
        { length: 1 + (batch % 7) },
        () => command(`echo ${crypto.randomUUID()}`),
      );
      const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
      if (res.status !== 200) {
        violations.push(`push answered ${res.status}: ${await res.text()}`);
        return;
      }
      await res.body?.cancel();
      for (const c of changes) pushed.add(c.id);
    }
  };
  const page = async (query: string) => {
    const res = await t.request("GET", `/api/sync/data?${query}`, { token: reader.token });
    if (res.status !== 200) throw new Error(`pull answered ${res.status}: ${await res.text()}`);
    return await res.json();
  };
  const read = async () => {
    let cursor = "";
    let previous = -1;
    while (writing || cursor === "") {
      const { changes, cursor: next } = await page(`limit=7${cursor ? `&since=${cursor}` : ""}`);
      for (const change of changes) {
        const seq = parseInt(change.cursor.slice(3), 36);
        if (seq <= previous) violations.push(`cursor went from ${previous} back to ${seq}`);
        previous = seq;
        seen.add(change.id);
      }
      cursor = next;
    }
    // One last page after the writers finished, from the same cursor.
    for (;;) {
      const last = await page(`limit=1000&since=${cursor}`);
      for (const change of last.changes) seen.add(change.id);
      cursor = last.cursor;
      if (!last.has_more) break;
    }
  };

  // Settled promises: a failure on either side is rethrown below, once both are done, never
  // left unhandled while the other side runs; the reader stops when the writers are done.
  const reading = Promise.allSettled([read()]);
  const wrote = await Promise.allSettled(writers.map((w) => write(w.token)));
  writing = false;
  for (const outcome of [...(await reading), ...wrote]) {
    if (outcome.status === "rejected") throw outcome.reason;
  }
  assert.deepEqual(violations, []);
  assert.equal(pushed.size, 4 * [...Array(15).keys()].reduce((n, b) => n + 1 + (b % 7), 0));
  assert.deepEqual([...pushed].filter((id) => !seen.has(id)), []);
});
