import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { queryMessage, ReplyReader } from "../../db/pglite_replies.ts";
import { sqlState } from "../../db/driver.ts";

/** One pass of `sql` through the reader: its answers, one per query message. */
async function viaReader(db: PGlite, reader: ReplyReader, sql: string) {
  await db.execProtocolRawStream(queryMessage(sql), { onRawData: reader.collect });
  return reader.take();
}

// One database for all cases: an initdb takes seconds.
Deno.test("ReplyReader", async (t) => {
  await using db = await PGlite.create();
  for (const [name, fn] of CASES) await t.step(name, () => fn(db));
});

const CASES: [string, (db: PGlite) => Promise<void>][] = [];

CASES.push(["reads rows exactly as PGlite's own parser does, type by type", async (db) => {
  await db.exec(`create table t (id int primary key, name text, big bigint, huge bigint,
    ok bool, at timestamptz, doc jsonb, tags text[], blob bytea, gone text, ratio float8)`);
  await db.query(
    `insert into t values
      (1, 'plain', 42, 9007199254740993, true, '2024-05-01T10:00:00Z',
        '{"a": [1, "ü"]}', '{x,y}', '\\x00ff', null, 0.5),
      (2, $1, -7, 0, false, '2024-05-01T10:00:00.123Z', 'null', '{}', '\\x', null, -1e300),
      (3, $2, 1, 1, null, null, $3, null, null, 'x', null)`,
    [
      "é ß 東京 👍 ''quoted''",
      "é".repeat(40_000),
      JSON.stringify({ long: "ü".repeat(100_000), n: 1.5 }),
    ],
  );
  const sql = "select * from t order by id";
  const expected = (await db.query(sql)).rows;
  const reader = new ReplyReader(db.parsers);
  const [reply] = await viaReader(db, reader, sql);
  assert.equal(reply.error, null);
  assert.deepEqual(reply.results.map((r) => r.command), ["SELECT"]);
  assert.deepEqual(reply.results[0].rows, expected);
  // The buffer grown for that reply (over 300 KB) is not kept, and the next reply is whole.
  const [again] = await viaReader(db, reader, "select name from t where id = 2");
  assert.deepEqual(again.results[0].rows, [{ name: "é ß 東京 👍 ''quoted''" }]);
}]);

CASES.push(["answers each statement of a query, and none after a failed one", async (db) => {
  await db.exec("create table u (n int primary key)");
  const reader = new ReplyReader(db.parsers);
  const [reply] = await viaReader(
    db,
    reader,
    `begin; insert into u values (1) returning n; insert into u values (1);
     select 1 as never; commit`,
  );
  assert.deepEqual(
    reply.results.map((r) => [r.command, r.rows]),
    [["BEGIN", []], ["INSERT", [{ n: 1 }]]],
  );
  assert.equal(sqlState(reply.error), "23505");
  const [rollback] = await viaReader(db, reader, "rollback");
  assert.deepEqual(rollback.results.map((r) => r.command), ["ROLLBACK"]);
  assert.deepEqual((await db.query("select n from u")).rows, []);
}]);

CASES.push([
  "tells a refused COMMIT by its error, and COMMIT of a failed one by its tag",
  async (db) => {
    await db.exec(
      "create table v (n int, constraint v_n unique (n) deferrable initially deferred)",
    );
    const reader = new ReplyReader(db.parsers);
    const [refused] = await viaReader(
      db,
      reader,
      "begin; insert into v values (1); insert into v values (1); commit",
    );
    assert.deepEqual(refused.results.map((r) => r.command), ["BEGIN", "INSERT", "INSERT"]);
    assert.equal(sqlState(refused.error), "23505");
    const [aborted] = await viaReader(db, reader, "begin; select 1/0; ");
    assert.equal(sqlState(aborted.error), "22012");
    const [ended] = await viaReader(db, reader, "commit");
    assert.deepEqual(ended.results.map((r) => r.command), ["ROLLBACK"]);
  },
]);
