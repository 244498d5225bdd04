import assert from "node:assert/strict";
import { decodeSince } from "../../sync/cursor.ts";
import { openTestApp, type TestApp } from "../support/app.ts";
import { command } from "../support/changes.ts";
import { profile, teamChange, teamDevice } from "../support/teams.ts";

/** A writer: its device token, and the changes of its n-th batch. */
interface Writer {
  token: string;
  batch(n: number): { id: string }[];
}

const BATCHES = 15;
const batchSize = (n: number) => 1 + (n % 7);

/**
 * Writers push BATCHES batches each while a reader pages through its changes with a small
 * limit; once the writers are done, the reader pages to the end from the same cursor.
 * Answers what was pushed, what was seen, and every time a change's cursor did not move
 * strictly forward in its parts (`parts` decodes a cursor into them).
 */
async function race(
  t: TestApp,
  reader: string,
  writers: Writer[],
  parts: (cursor: string) => number[],
): Promise<{ pushed: Set<string>; seen: Set<string>; violations: string[] }> {
  const pushed = new Set<string>();
  const seen = new Set<string>();
  // Collected while writers and the reader run, asserted once both are done: an assertion
  // thrown inside a running loop would surface late, or leave the other side running.
  const violations: string[] = [];
  let writing = true;

  const write = async ({ token, batch }: Writer) => {
    for (let n = 0; n < BATCHES; n++) {
      const changes = batch(n);
      const res = await t.request("POST", "/api/sync/data", { token, body: { changes } });
      if (res.status !== 200) {
        violations.push(`push answered ${res.status}: ${await res.text()}`);
        return;
      }
      const { results } = await res.json();
      for (const [i, c] of changes.entries()) {
        if (results[i].status !== "applied") violations.push(`${c.id}: ${results[i].status}`);
        pushed.add(c.id);
      }
    }
  };
  const page = async (query: string) => {
    const res = await t.request("GET", `/api/sync/data?${query}`, { token: reader });
    if (res.status !== 200) throw new Error(`pull answered ${res.status}: ${await res.text()}`);
    return await res.json();
  };
  const read = async () => {
    let cursor = "";
    let previous: number[] | null = null;
    while (writing || cursor === "") {
      const { changes, cursor: next } = await page(`limit=7${cursor ? `&since=${cursor}` : ""}`);
      for (const change of changes) {
        const now = parts(change.cursor);
        const back = previous?.some((p, i) => now[i] < p);
        const still = previous?.every((p, i) => now[i] === p);
        if (back || still) violations.push(`cursor went from ${previous} to ${now}`);
        previous = now;
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
  const wrote = await Promise.allSettled(writers.map(write));
  writing = false;
  for (const outcome of [...(await reading), ...wrote]) {
    if (outcome.status === "rejected") throw outcome.reason;
  }
  return { pushed, seen, violations };
}

const commands = (token: string): Writer => ({
  token,
  batch: (n) => Array.from({ length: batchSize(n) }, () => command(`echo ${crypto.randomUUID()}`)),
});

const EVERY_BATCH = [...Array(BATCHES).keys()].reduce((sum, n) => sum + batchSize(n), 0);

// Real Postgres only: PGlite runs one transaction at a time, so it cannot interleave commits.
Deno.test("[postgres] an incremental puller never skips a change while writers commit concurrently", async () => {
  await using t = await openTestApp("postgres");
  const writers = await Promise.all([1, 2, 3, 4].map((i) => t.device("alice", `writer-${i}`)));
  const reader = await t.device("alice", "reader");
  const { pushed, seen, violations } = await race(
    t,
    reader.token,
    writers.map((w) => commands(w.token)),
    (cursor) => [decodeSince(cursor, null).user],
  );
  assert.deepEqual(violations, []);
  assert.equal(pushed.size, 4 * EVERY_BATCH);
  assert.deepEqual([...pushed].filter((id) => !seen.has(id)), []);
});

Deno.test("[postgres] a team member's puller never skips a change of its user or its team while both commit concurrently", async () => {
  await using t = await openTestApp("postgres");
  const reader = await teamDevice(t, "bob", "acme", "member", { name: "reader" });
  // Bob's other devices write his own items; two admins (one also writing to the team from
  // a second device) write the team's, some batches mixing in the admin's own items.
  const bobs = await Promise.all(
    [1, 2].map((i) => teamDevice(t, "bob", "acme", "member", { name: `bob-${i}` })),
  );
  const admins = await Promise.all(
    [["ann", 1], ["ann", 2], ["cat", 1]].map(([user, i]) =>
      teamDevice(t, user as string, "acme", "admin", { name: `${user}-${i}` })
    ),
  );
  const teamWriter = (token: string): Writer => ({
    token,
    batch: (n) =>
      Array.from({ length: batchSize(n) }, (_, i) => {
        const id = crypto.randomUUID();
        return n % 3 === 0 && i === 0
          ? command(`admin ${id}`, { id: `admin-${id}` })
          : teamChange(id, profile(`p${id.slice(0, 8)}`));
      }),
  });
  const { pushed, seen, violations } = await race(
    t,
    reader.token,
    [...bobs.map((b) => commands(b.token)), ...admins.map((a) => teamWriter(a.token))],
    (cursor) => {
      const since = decodeSince(cursor, "acme");
      return [since.user, since.team];
    },
  );
  assert.deepEqual(violations, []);
  assert.equal(pushed.size, 5 * EVERY_BATCH);
  // Everything but the admins' own commands is Bob's to see, and nothing else.
  const bobsToSee = [...pushed].filter((id) => !id.startsWith("admin-"));
  assert.ok(bobsToSee.length < pushed.size);
  assert.deepEqual(bobsToSee.filter((id) => !seen.has(id)), []);
  assert.equal(seen.size, bobsToSee.length);
});
