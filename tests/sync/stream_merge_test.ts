import assert from "node:assert/strict";
import fc from "fast-check";
import { mergeStreams, type StreamRead } from "../../sync/stream_merge.ts";
import type { ItemRow } from "../../sync/sync_store.ts";

function row(collection: ItemRow["collection"], seq: number): ItemRow {
  return {
    collection,
    id: `${collection}-${seq}`,
    version: 1,
    data: {},
    deleted: false,
    redacted: false,
    modified_at: 0,
    device_id: null,
    change_id: null,
    seq,
    dedupe_key: null,
    author: null,
  };
}

const user = (since: number, head: number, seqs: number[]): StreamRead<ItemRow> => ({
  since,
  head,
  rows: seqs.map((s) => row("commands", s)),
});
const team = (since: number, head: number, seqs: number[]): StreamRead<ItemRow> => ({
  since,
  head,
  rows: seqs.map((s) => row("team_ssh_profiles", s)),
});

Deno.test("mergeStreams() takes the streams in turn and positions each row after it", () => {
  const page = mergeStreams(user(0, 3, [1, 2, 3]), team(0, 9, [8, 9]), 10);
  assert.deepEqual(
    page.rows.map(({ row, position }) => [row.id, position.user, position.team]),
    [
      ["commands-1", 1, 0],
      ["team_ssh_profiles-8", 1, 8],
      ["commands-2", 2, 8],
      ["team_ssh_profiles-9", 2, 9],
      ["commands-3", 3, 9],
    ],
  );
  assert.deepEqual(page.position, { user: 3, team: 9 });
  assert.equal(page.hasMore, false);
});

Deno.test("mergeStreams() keeps a stream's part where it was when none of its rows fit", () => {
  // A page of one: the user's row fills it before the team's turn.
  const page = mergeStreams(user(4, 9, [5, 6, 7]), team(3, 9, [8, 9]), 1);
  assert.deepEqual(page.rows.map((r) => r.row.seq), [5]);
  assert.deepEqual(page.position, { user: 5, team: 3 });
  assert.equal(page.hasMore, true);
});

Deno.test("mergeStreams() moves a stream with no row after since to its head, and only that one", () => {
  const page = mergeStreams(user(4, 9, [6]), team(3, 7, []), 10);
  assert.deepEqual(page.position, { user: 6, team: 7 });
  const none = mergeStreams(user(4, 9, []), null, 10);
  assert.deepEqual(none.position, { user: 9, team: 0 });
  assert.equal(none.hasMore, false);
});

Deno.test("mergeStreams() with one stream is the single-stream page: limit+1 rows mean more", () => {
  const page = mergeStreams(user(0, 5, [1, 2, 3]), null, 2);
  assert.deepEqual(page.rows.map((r) => r.position), [{ user: 1, team: 0 }, { user: 2, team: 0 }]);
  assert.deepEqual([page.position, page.hasMore], [{ user: 2, team: 0 }, true]);
});

Deno.test("paging with mergeStreams() from any cursor it hands out delivers every row of both streams once", () => {
  // Two streams of distinct increasing seqs; a reader pages through them with a random
  // limit, resuming from a random row's cursor or the page's: nothing is skipped.
  const seqs = fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 40 })
    .map((a) => a.sort((x, y) => x - y));
  fc.assert(
    fc.property(seqs, seqs, fc.integer({ min: 1, max: 7 }), fc.boolean(), (us, ts, limit, mid) => {
      const seen: string[] = [];
      let at = { user: 0, team: 0 };
      for (let round = 0; round < 200; round++) {
        const from = (xs: number[], since: number) =>
          xs.filter((s) => s > since).slice(0, limit + 1);
        const page = mergeStreams(
          user(at.user, us.at(-1) ?? 0, from(us, at.user)),
          team(at.team, ts.at(-1) ?? 0, from(ts, at.team)),
          limit,
        );
        // Resuming from a row's own cursor is as safe as from the page's.
        const cut = mid && page.rows.length > 1
          ? Math.floor(page.rows.length / 2)
          : page.rows.length;
        seen.push(...page.rows.slice(0, cut).map((r) => r.row.id));
        at = cut < page.rows.length ? page.rows[cut - 1].position : page.position;
        if (cut === page.rows.length && !page.hasMore) break;
      }
      assert.deepEqual(
        seen.sort(),
        [...us.map((s) => `commands-${s}`), ...ts.map((s) => `team_ssh_profiles-${s}`)].sort(),
      );
    }),
  );
});
