/**
 * What the slot carries to the listener, read with pg_logical_slot_get_binary_changes on
 * real Postgres through the publication `ensurePublicationAndSlot` sets up.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import postgres from "postgres";
import { type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import { SqlStore } from "../../../db/sql_store.ts";
import { decodeTransaction } from "../../../sync/replication/decode.ts";
import type { Tier } from "../../../sync/tiers.ts";
import { formatLsn } from "../../../sync/replication/lsn.ts";
import { ensurePublicationAndSlot, type SqlSession } from "../../../sync/replication/slot.ts";
import { eventually } from "../../support/eventually.ts";
import { openReplicationDb, type ReplicationDb, walEnd } from "./support.ts";

const DEVICE = "00000000-0000-4000-8000-0000000000d1";

function session(db: ReplicationDb): SqlSession {
  return { query: async (text, params) => ({ rows: await db.driver.query(text, params) }) };
}

/**
 * Consumes what the slot holds for everything written so far, parsed as the listener's
 * stream delivers it. Decoding stops at the flushed WAL, and the test cluster commits
 * asynchronously: it waits for the flush first, or "nothing" could mean "not yet".
 */
async function takeStream(db: ReplicationDb): Promise<Pgoutput.Message[]> {
  const written = formatLsn(await walEnd(db.driver));
  await eventually(
    async () => {
      const [{ flushed }] = await db.driver.query<{ flushed: boolean }>(
        "select pg_current_wal_flush_lsn() >= $1::pg_lsn as flushed",
        [written],
      );
      return flushed;
    },
    5_000,
    "the WAL flushed",
  );
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [db.slot] });
  const rows = await db.driver.query<{ data: Uint8Array }>(
    `select data from pg_logical_slot_get_binary_changes($1, null, null,
       'proto_version', '1', 'publication_names', $2, 'messages', 'true')`,
    [db.slot, db.slot],
  );
  return rows.map((row) => plugin.parse(Buffer.from(row.data)));
}

/** The publication's tables and operations, and which columns of `items` it carries. */
async function publication(db: ReplicationDb) {
  const [row] = await db.driver.query<{ tables: string[]; ops: string; items: string[] }>(
    `select array(select tablename::text from pg_publication_tables t
                   where t.pubname = p.pubname order by 1) as tables,
            concat_ws(',', case when pubinsert then 'insert' end, case when pubupdate then 'update' end,
                      case when pubdelete then 'delete' end, case when pubtruncate then 'truncate' end) as ops,
            array(select unnest(attnames)::text from pg_publication_tables t
                   where t.pubname = p.pubname and t.tablename = 'items' order by 1) as items
       from pg_publication p where pubname = $1`,
    [db.slot],
  );
  return row;
}

/** What a transaction of one owner's items decodes to: its one `changes` event. */
function changesEvent(owner: string, cursor: string, collections: string[], origin: string | null) {
  return [{ owner, event: { type: "changes", cursor, collections, origin_device_id: origin } }];
}

/** What was there before, and what ensurePublicationAndSlot() says it found. */
const SETUPS = {
  "a new database": { before: async (_db: ReplicationDb) => {}, found: "created" },
  "a publication and slot made by an older version (devices included, items whole, every operation)":
    {
      before: async (db: ReplicationDb) => {
        await db.driver.query(
          `create publication "${db.slot}" for table items, conflicts, devices`,
        );
        await db.driver.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [
          db.slot,
        ]);
      },
      found: "existed",
    },
} as const;

for (const [setup, { before, found }] of Object.entries(SETUPS)) {
  Deno.test(`ensurePublicationAndSlot() on ${setup}: a last_seen_at refresh reaches the listener as nothing, a device deletion or new token as one event`, async () => {
    await using db = await openReplicationDb();
    await before(db);
    assert.equal(await ensurePublicationAndSlot(session(db), db.slot), found);
    assert.deepEqual(await publication(db), {
      tables: ["conflicts", "items"],
      ops: "insert,update",
      items: ["collection", "device_id", "id", "seq", "user_id"],
    });

    await db.driver.query("insert into users (user_id) values ('alice')");
    await db.driver.query(
      `insert into devices (id, user_id, name, platform, token_hash)
       values ($1, 'alice', 'laptop', 'macos', 'h1')`,
      [DEVICE],
    );
    assert.deepEqual(await takeStream(db), [], "a registration is no event");

    // What every authenticated request, socket refresh and ack writes.
    await db.driver.query("update devices set last_seen_at = now() where id = $1", [DEVICE]);
    await db.driver.query(
      "update devices set cursor = 0, last_seen_at = now() where id = $1",
      [DEVICE],
    );
    assert.deepEqual(await takeStream(db), [], "no WAL message for last_seen_at or cursor");

    await db.driver.query(
      "update devices set token_hash = 'h2', last_seen_at = now() where id = $1",
      [DEVICE],
    );
    assert.deepEqual(decodeTransaction(await takeStream(db)), [
      { owner: "alice", event: { type: "token_replaced", device_id: DEVICE } },
    ]);

    await db.driver.query("delete from devices where id = $1", [DEVICE]);
    const deletion = await takeStream(db);
    assert.deepEqual(deletion.map((m) => m.tag), ["begin", "message", "commit"]);
    assert.deepEqual(decodeTransaction(deletion), [
      { owner: "alice", event: { type: "device", device_id: DEVICE, status: "revoked" } },
    ]);
  });
}

Deno.test("a team's items reach the listener under the team's owner key, and a change of a user's team as one event", async () => {
  await using db = await openReplicationDb();
  await ensurePublicationAndSlot(session(db), db.slot);
  const store = new SqlStore(db.driver);
  const save = (tier: Tier, teamId: string | null, issuedAt: number) =>
    store.saveAccount({
      account: { userId: "bob", tier, tierExpiresAt: null, teamId, teamRole: "member" },
      issuedAt,
    });
  await save("team", "acme", 1);
  assert.deepEqual(await takeStream(db), [], "a new user is no event");
  await save("team", "acme", 2);
  // Another role, an expiry, a newer token: the synced team stays, nothing is told.
  await store.saveAccount({
    account: {
      userId: "bob",
      tier: "team",
      tierExpiresAt: 9e12,
      teamId: "acme",
      teamRole: "admin",
    },
    issuedAt: 3,
  });
  assert.deepEqual(await takeStream(db), []);
  await save("team", "globex", 4);
  await save("pro", "globex", 5);
  // An older token changes nothing, so it tells nothing.
  await save("team", "acme", 4);
  assert.deepEqual(decodeTransaction(await takeStream(db)), [
    { owner: "bob", event: { type: "team_changed", team_id: "globex" } },
    // A tier without team sync: no team synced any more.
    { owner: "bob", event: { type: "team_changed", team_id: null } },
  ]);

  await db.driver.query(
    `insert into items (user_id, collection, id, version, data, modified_at, seq, author)
     values ('team:acme', 'team_ssh_profiles', 'db', 1, '{}', 0, 1, 'ann')`,
  );
  assert.deepEqual(
    decodeTransaction(await takeStream(db)),
    changesEvent("team:acme", "c1.1", ["team_ssh_profiles"], null),
  );
});

Deno.test("ensurePublicationAndSlot() tells a slot created anew from one recreated after it was dropped", async () => {
  await using db = await openReplicationDb();
  assert.equal(await ensurePublicationAndSlot(session(db), db.slot), "created");
  assert.equal(await ensurePublicationAndSlot(session(db), db.slot), "existed");
  await db.driver.query("select pg_drop_replication_slot($1)", [db.slot]);
  assert.equal(await ensurePublicationAndSlot(session(db), db.slot), "recreated");
});

Deno.test("an item's data never reaches the stream: an insert and an update carry the columns an event is made of", async () => {
  await using db = await openReplicationDb();
  await ensurePublicationAndSlot(session(db), db.slot);
  const big = JSON.stringify({ command: "x".repeat(100_000) });
  await db.driver.query(
    `insert into items (user_id, collection, id, version, data, modified_at, device_id, seq)
     values ('carol', 'settings', 'app', 1, $1::jsonb, 0, $2, 1)`,
    [big, DEVICE],
  );
  await db.driver.query(
    "update items set version = 2, data = $1::jsonb, seq = 2 where user_id = 'carol'",
    [big],
  );
  const stream = await takeStream(db);
  const rows = stream.flatMap((m) => m.tag === "insert" || m.tag === "update" ? [m.new] : []);
  assert.deepEqual(rows.map((row) => ({ ...row })), [
    { user_id: "carol", collection: "settings", id: "app", device_id: DEVICE, seq: "1" },
    { user_id: "carol", collection: "settings", id: "app", device_id: DEVICE, seq: "2" },
  ]);
  assert.deepEqual(
    decodeTransaction(stream.slice(stream.findLastIndex((m) => m.tag === "begin"))),
    changesEvent("carol", "c1.2", ["settings"], DEVICE),
  );
});

Deno.test("ensurePublicationAndSlot() leaves items whole in a publication it may not alter (an administrator's) and carries on", async () => {
  await using db = await openReplicationDb();
  const admin = `${db.slot}_admin`;
  const service = `${db.slot}_service`;
  await db.driver.query(`create role ${admin}`);
  await db.driver.query(`create role ${service}`);
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const [{ name }] = await db.driver.query<{ name: string }>("select current_database() as name");
    await db.driver.query(`grant create on database "${name}" to ${admin}`);
    await db.driver.query(
      `create publication "${db.slot}" for table conflicts, items with (publish = 'insert, update')`,
    );
    await db.driver.query(`alter publication "${db.slot}" owner to ${admin}`);
    await db.driver.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [db.slot]);
    const whole = await db.driver.query<{ name: string }>(
      `select column_name::text as name from information_schema.columns
        where table_schema = current_schema() and table_name = 'items' order by 1`,
    );

    await sql.unsafe(`set role ${service}`);
    const asService: SqlSession = {
      // deno-lint-ignore no-explicit-any
      query: async (text, params = []) => ({ rows: await sql.unsafe(text, params as any[]) }),
    };
    assert.equal(await ensurePublicationAndSlot(asService, db.slot), "existed");
    assert.deepEqual((await publication(db)).items, whole.map((c) => c.name));
  } finally {
    await sql.end();
    await db.driver.query(`drop owned by ${admin}, ${service}`);
    await db.driver.query(`drop role ${admin}, ${service}`);
  }
});
