import assert from "node:assert/strict";
import { openPostgresDriver } from "../../db/postgres_driver.ts";
import { SqlStore } from "../../db/sql_store.ts";
import { toPulledChange } from "../../sync/sync_service.ts";
import type { EncodedRow, PullPage } from "../../sync/sync_store.ts";
import { openTestDb, withDrivers } from "../support/drivers.ts";

// Values whose JSON text differs between writers (escapes, spacing, number forms) but
// whose meaning must not, and the control characters that separate a page's changes.
const TRICKY = [
  { command: 'say "hi" \\ back\\slash', cwd: "/tmp/ü/日本/🚀", tab: "a\tb\nc\u0001\u001e\u001f" },
  { nested: { list: [1, 2.5, -0, 1e21, 12345678901234567890, null, true] }, empty: {} },
  { command: "</script><!-- \u2028 \u2029", n: 0.1 },
];

withDrivers("store pullEncoded", (open) => {
  Deno.test({
    name: "each change's JSON text means what toPulledChange of the row says, in the same order",
    fn: async () => {
      await using db = await open();
      const store = new SqlStore(db.driver);
      await db.driver.query("insert into users (user_id, seq) values ('enc', 6)");
      await db.driver.query(
        `insert into items (user_id, collection, id, version, data, deleted, redacted,
           modified_at, device_id, change_id, seq, author)
         select 'enc', r.c, r.i, r.v, r.d, r.x, r.r, r.m, r.g, r.h, r.s, r.a
         from jsonb_to_recordset($1::jsonb) as r(c text, i text, v int, d jsonb, x bool,
           r bool, m bigint, g uuid, h uuid, s bigint, a text)`,
        [JSON.stringify([
          ...TRICKY.map((d, n) => ({
            c: "commands",
            i: `id "${n}" \\\u001e`,
            v: n + 1,
            d,
            x: false,
            r: false,
            m: 1_700_000_000_000 + n,
            g: crypto.randomUUID(),
            h: crypto.randomUUID(),
            s: n + 1,
            a: null,
          })),
          { c: "commands", i: "gone", v: 2, d: null, x: true, r: true, m: 1, s: 4 },
          { c: "snippets", i: "s", v: 1, d: { name: "x" }, x: false, r: false, m: 2, s: 5 },
          { c: "team_snippets", i: "t", v: 3, d: {}, x: false, r: false, m: 3, s: 6, a: 'ü"' },
        ])],
      );
      const all = ["commands", "snippets", "team_snippets"];
      const encoded = await assertEncodedAsPulled(store, "enc", 0, all, 10);
      assert.equal(encoded.rows.length, 6);
      // Past the head: no rows, the same head.
      const none = await store.pullEncoded("enc", 6, all, 10);
      assert.deepEqual(none, { rows: [], head: 6, purgedSeq: 0 });
      // An owner never seen: no rows, head 0.
      const nobody = await store.pullEncoded("nobody", 0, all, 10);
      assert.deepEqual(nobody, { rows: [], head: 0, purgedSeq: 0 });
    },
  });
  Deno.test({
    name: "a page of many changes, read in groups, comes back whole and in sequence order",
    fn: async () => {
      await using db = await open();
      const store = new SqlStore(db.driver);
      await db.driver.query("insert into users (user_id, seq) values ('many', 90)");
      // Every third sequence number skipped, and one collection filtered out: sparse seqs.
      await db.driver.query(
        `insert into items (user_id, collection, id, version, data, modified_at, change_id, seq)
         select 'many', case when s % 5 = 0 then 'snippets' else 'commands' end, 'i' || s, 1,
           jsonb_build_object('n', s), s, gen_random_uuid(), s
         from generate_series(1, 90) s where s % 3 <> 0`,
      );
      for (const [since, limit] of [[0, 41], [7, 1000], [88, 10]]) {
        await assertEncodedAsPulled(store, "many", since, ["commands"], limit);
      }
    },
  });
});

Deno.test("[postgres] store pullEncoded: after Postgres ended the pool's sessions, the next grouped page is the same page", async () => {
  await using db = await openTestDb("postgres");
  const store = new SqlStore(db.driver);
  await db.driver.query("insert into users (user_id, seq) values ('lost', 60)");
  await db.driver.query(
    `insert into items (user_id, collection, id, version, data, modified_at, change_id, seq)
     select 'lost', 'commands', 'i' || s, 1, jsonb_build_object('n', s), s, gen_random_uuid(), s
     from generate_series(1, 60) s`,
  );
  const before = await store.pullEncoded("lost", 0, ["commands"], 50);
  assert.equal(before.rows.length, 50);
  // A restart or failover, as the pool sees it: every idle session of it is gone.
  const other = openPostgresDriver(db.url!, { max: 1 });
  try {
    const [{ ended }] = await other.query<{ ended: number }>(
      `select count(pg_terminate_backend(pid))::int as ended from pg_stat_activity
        where datname = current_database() and application_name = 'devpocket-sync'
          and pid <> pg_backend_pid()`,
    );
    assert.ok(ended >= 1, "the pool had sessions to end");
  } finally {
    await other.close();
  }
  const after = await store.pullEncoded("lost", 0, ["commands"], 50);
  assert.deepEqual(after, before);
});

/**
 * `owner`'s page read both ways: pullEncoded's rows are pull's changes in the same order,
 * each JSON text with the keys of toPulledChange in its order and the values a client
 * parses from it, beside the same head and horizon. Answers the encoded page.
 */
async function assertEncodedAsPulled(
  store: SqlStore,
  owner: string,
  since: number,
  collections: string[],
  limit: number,
): Promise<PullPage<EncodedRow>> {
  const rows = await store.pull(owner, since, collections, limit);
  const encoded = await store.pullEncoded(owner, since, collections, limit);
  assert.deepEqual(encoded.rows.map((r) => r.seq), rows.rows.map((r) => r.seq));
  assert.deepEqual([encoded.head, encoded.purgedSeq], [rows.head, rows.purgedSeq]);
  encoded.rows.forEach((row, n) => {
    const text = `${row.json},"cursor":"c${n}"}`;
    const expected = toPulledChange(rows.rows[n], `c${n}`);
    assert.deepEqual(Object.keys(JSON.parse(text)), Object.keys(expected));
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(expected)));
  });
  return encoded;
}
