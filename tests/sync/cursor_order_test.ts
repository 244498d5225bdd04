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
  let writing = true;

  const write = async (token: string) => {
    for (let batch = 0; batch < 15; batch++) {
      const changes = Array.from(
        { length: 1 + (batch % 7) },
        () => command(`echo ${crypto.randomUUID()}`),
      );
      const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
      assert.equal(res.status, 200);
      for (const c of changes) pushed.add(c.id);
    }
  };
  const read = async () => {
    let cursor = "";
    let previous = -1;
    while (writing || cursor === "") {
      const page =
        await (await t.request("GET", `/api/sync/data?limit=7${cursor ? `&since=${cursor}` : ""}`, {
          token: reader.token,
        })).json();
      for (const change of page.changes) {
        const seq = parseInt(change.cursor.slice(3), 36);
        assert.ok(seq > previous, "cursors only move forward");
        previous = seq;
        seen.add(change.id);
      }
      cursor = page.cursor;
    }
    // One last page after the writers finished, from the same cursor.
    for (;;) {
      const page = await (await t.request("GET", `/api/sync/data?limit=1000&since=${cursor}`, {
        token: reader.token,
      }))
        .json();
      for (const change of page.changes) seen.add(change.id);
      cursor = page.cursor;
      if (!page.has_more) break;
    }
  };

  const reading = read();
  await Promise.all(writers.map((w) => write(w.token)));
  writing = false;
  await reading;
  assert.equal(pushed.size, 4 * [...Array(15).keys()].reduce((n, b) => n + 1 + (b % 7), 0));
  assert.deepEqual([...pushed].filter((id) => !seen.has(id)), []);
});
