import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import { encodeCursor } from "../../../sync/cursor.ts";
import {
  decodeTransaction,
  type OwnerEvent,
  TransactionDecoder,
} from "../../../sync/replication/decode.ts";

const DEV_A = "00000000-0000-4000-8000-00000000000a";
const DEV_B = "00000000-0000-4000-8000-00000000000b";
const CONFLICT = "00000000-0000-4000-8000-0000000000c1";

function relation(name: string): Pgoutput.MessageRelation {
  return {
    tag: "relation",
    relationOid: name.length,
    schema: "public",
    name,
    replicaIdentity: name === "items" ? "default" : "full",
    columns: [],
    keyColumns: [],
  };
}
const items = relation("items");
const conflicts = relation("conflicts");
const devices = relation("devices");

// pg parses int8 as text by default: seq arrives as a string, like captured messages.
function item(user: string, collection: string, seq: number, device: string | null = DEV_A) {
  return { user_id: user, collection, id: `i${seq}`, seq: String(seq), device_id: device };
}
const insert = (rel: Pgoutput.MessageRelation, row: Record<string, unknown>): Pgoutput.Message => ({
  tag: "insert",
  relation: rel,
  new: row,
});
const update = (rel: Pgoutput.MessageRelation, row: Record<string, unknown>): Pgoutput.Message => ({
  tag: "update",
  relation: rel,
  key: null,
  old: null,
  new: row,
});
const del = (rel: Pgoutput.MessageRelation, old: Record<string, unknown>): Pgoutput.Message => ({
  tag: "delete",
  relation: rel,
  key: null,
  old,
});
/** A message the `devices` (migration 005) or `users` (008) triggers emit, as the library parses it. */
const deviceMessage = (body: unknown, prefix = "devpocket.device"): Pgoutput.Message => ({
  tag: "message",
  flags: 1,
  transactional: true,
  messageLsn: "0/16B3748",
  prefix,
  content: new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body)),
});
const changes = (
  user: string,
  seq: number,
  collections: string[],
  origin: string | null = DEV_A,
): OwnerEvent => ({
  owner: user,
  event: {
    type: "changes",
    cursor: encodeCursor(seq),
    collections,
    origin_device_id: origin,
  },
});

const CASES: Array<{ name: string; messages: Pgoutput.Message[]; events: OwnerEvent[] }> = [
  {
    name: "coalesces a user's rows into one event with the highest cursor",
    messages: [
      items,
      insert(items, item("u1", "settings", 5)),
      update(items, item("u1", "commands", 7)),
      insert(items, item("u1", "commands", 6)),
    ],
    events: [changes("u1", 7, ["commands", "settings"])],
  },
  {
    name: "gives each user of the transaction its own event",
    messages: [insert(items, item("u1", "commands", 1)), insert(items, item("u2", "ssh_keys", 9))],
    events: [changes("u1", 1, ["commands"]), changes("u2", 9, ["ssh_keys"])],
  },
  {
    name: "leaves the origin unknown when several devices wrote",
    messages: [
      insert(items, item("u1", "commands", 1, DEV_A)),
      insert(items, item("u1", "commands", 2, DEV_B)),
    ],
    events: [changes("u1", 2, ["commands"], null)],
  },
  {
    name: "ignores item deletes (compaction)",
    messages: [del(items, item("u1", "commands", 3))],
    events: [],
  },
  {
    name: "reads an update whose TOASTed data is unchanged (undefined)",
    messages: [update(items, { ...item("u1", "commands", 4), data: undefined })],
    events: [changes("u1", 4, ["commands"])],
  },
  {
    name: "accepts seq as a number or a bigint",
    messages: [
      insert(items, { ...item("u1", "commands", 0), seq: 11 }),
      insert(items, { ...item("u1", "commands", 0), seq: 12n }),
    ],
    events: [changes("u1", 12, ["commands"])],
  },
  {
    name: "reports a new conflict",
    messages: [
      insert(conflicts, {
        id: CONFLICT,
        user_id: "u1",
        collection: "ssh_profiles",
        item_id: "p1",
        data: undefined,
      }),
    ],
    events: [{
      owner: "u1",
      event: { type: "conflict", conflict_id: CONFLICT, collection: "ssh_profiles", item_id: "p1" },
    }],
  },
  {
    name: "ignores a conflict being resolved",
    messages: [update(conflicts, { id: CONFLICT, user_id: "u1", collection: "c", item_id: "i" })],
    events: [],
  },
  {
    name: "reports a deleted device as revoked, from the full old row",
    messages: [del(devices, { id: DEV_B, user_id: "u1", name: "laptop" })],
    events: [{ owner: "u1", event: { type: "device", device_id: DEV_B, status: "revoked" } }],
  },
  {
    name: "reports a device the devices trigger says was deleted as revoked",
    messages: [deviceMessage({ user_id: "u1", device_id: DEV_B, event: "revoked" })],
    events: [{ owner: "u1", event: { type: "device", device_id: DEV_B, status: "revoked" } }],
  },
  {
    name: "reports a device the devices trigger says got a new token",
    messages: [deviceMessage({ user_id: "u1", device_id: DEV_B, event: "token_replaced" })],
    events: [{ owner: "u1", event: { type: "token_replaced", device_id: DEV_B } }],
  },
  {
    name: "ignores device messages it cannot read, and other prefixes",
    messages: [
      deviceMessage("not json"),
      deviceMessage(null),
      deviceMessage({ user_id: "u1", device_id: DEV_B, event: "renamed" }),
      deviceMessage({ device_id: DEV_B, event: "revoked" }),
      deviceMessage({ user_id: "u1", device_id: DEV_B, event: "revoked" }, "other"),
    ],
    events: [],
  },
  {
    name: "gives a team's rows (owner team:<id>) one event of the team's own stream",
    messages: [
      insert(items, item("team:acme", "team_ssh_profiles", 4)),
      insert(items, item("u1", "commands", 9)),
      update(items, item("team:acme", "team_ssh_profiles", 5)),
    ],
    events: [changes("team:acme", 5, ["team_ssh_profiles"]), changes("u1", 9, ["commands"])],
  },
  {
    name: "reports the team a user's devices now sync when the account trigger says it changed",
    messages: [
      deviceMessage({ user_id: "u1", tier: "team", team_id: "acme" }, "devpocket.account"),
      deviceMessage({ user_id: "u2", tier: "pro", team_id: "acme" }, "devpocket.account"),
      deviceMessage({ user_id: "u3", tier: "enterprise", team_id: null }, "devpocket.account"),
    ],
    events: [
      { owner: "u1", event: { type: "team_changed", team_id: "acme" } },
      // A tier without team sync syncs no team, whatever the token names.
      { owner: "u2", event: { type: "team_changed", team_id: null } },
      { owner: "u3", event: { type: "team_changed", team_id: null } },
    ],
  },
  {
    name: "ignores account messages it cannot read",
    messages: [
      deviceMessage("{", "devpocket.account"),
      deviceMessage({ tier: "team", team_id: "acme" }, "devpocket.account"),
      deviceMessage({ user_id: "u1", tier: "gold", team_id: "acme" }, "devpocket.account"),
    ],
    events: [],
  },
  {
    name: "ignores device inserts and updates (presence comes from the hub)",
    messages: [
      insert(devices, { id: DEV_B, user_id: "u1" }),
      update(devices, { id: DEV_B, user_id: "u1" }),
    ],
    events: [],
  },
  {
    name: "keeps first-appearance order across users and kinds",
    messages: [
      del(devices, { id: DEV_B, user_id: "u2" }),
      insert(items, item("u1", "commands", 1)),
      insert(conflicts, { id: CONFLICT, user_id: "u1", collection: "commands", item_id: "x" }),
      insert(items, item("u1", "commands", 2)),
    ],
    events: [
      { owner: "u2", event: { type: "device", device_id: DEV_B, status: "revoked" } },
      changes("u1", 2, ["commands"]),
      {
        owner: "u1",
        event: { type: "conflict", conflict_id: CONFLICT, collection: "commands", item_id: "x" },
      },
    ],
  },
  {
    name: "skips rows it cannot attribute to a user, and other tables",
    messages: [
      insert(items, { ...item("u1", "commands", 1), user_id: null }),
      insert(items, { ...item("u1", "commands", 1), seq: "not a number" }),
      del(devices, { id: DEV_B }),
      insert(relation("users"), { user_id: "u1" }),
      { tag: "truncate", cascade: false, restartIdentity: false, relations: [items] },
      {
        tag: "message",
        flags: 0,
        transactional: true,
        messageLsn: null,
        prefix: "p",
        content: new Uint8Array(),
      },
    ],
    events: [],
  },
];

for (const { name, messages, events } of CASES) {
  Deno.test(`decodeTransaction() ${name}`, () => {
    assert.deepEqual(decodeTransaction(messages), events);
  });
}

Deno.test("TransactionDecoder reads a pgoutput update with an unchanged TOAST column as the library parses it", () => {
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ["p"] });
  const columns: Array<[string, number]> = [
    ["user_id", 25],
    ["collection", 25],
    ["id", 25],
    ["data", 3802],
    ["seq", 20],
    ["device_id", 2950],
  ];
  const w = new Writer();
  w.byte("R").int32(16_400).cstring("public").cstring("items").byte("d").int16(columns.length);
  for (const [name, oid] of columns) {
    w.uint8(name === "user_id" ? 1 : 0).cstring(name).int32(oid).int32(-1);
  }
  const rel = plugin.parse(w.buffer());

  const u = new Writer().byte("U").int32(16_400).byte("N").int16(columns.length);
  u.text("u1").text("commands").text("c1").byte("u").text("42").byte("n");
  const message = plugin.parse(u.buffer());
  assert.equal(message.tag, "update");
  assert.equal((message as Pgoutput.MessageUpdate).new.data, undefined);

  const tx = new TransactionDecoder();
  tx.add(rel);
  tx.add(message);
  assert.deepEqual(tx.events(), [changes("u1", 42, ["commands"], null)]);
});

/** Builds pgoutput messages byte by byte, as the walsender sends them. */
class Writer {
  #bytes: number[] = [];
  uint8(n: number): this {
    this.#bytes.push(n & 0xff);
    return this;
  }
  byte(char: string): this {
    return this.uint8(char.charCodeAt(0));
  }
  int16(n: number): this {
    return this.uint8(n >> 8).uint8(n);
  }
  int32(n: number): this {
    return this.uint8(n >>> 24).uint8(n >>> 16).uint8(n >>> 8).uint8(n);
  }
  cstring(s: string): this {
    for (const b of new TextEncoder().encode(s)) this.uint8(b);
    return this.uint8(0);
  }
  text(s: string): this {
    const bytes = new TextEncoder().encode(s);
    this.byte("t").int32(bytes.length);
    for (const b of bytes) this.uint8(b);
    return this;
  }
  buffer(): Buffer {
    return Buffer.from(this.#bytes);
  }
}
