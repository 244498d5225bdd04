/**
 * SyncClient against the real app (HTTP and WebSocket on 127.0.0.1), on the embedded
 * database and on real Postgres.
 */
import assert from "node:assert/strict";
import {
  type ChangeEvent,
  memoryStore,
  SyncClient,
  type SyncClientOptions,
} from "../../client/mod.ts";
import { jsonEqual } from "../../client/json.ts";
import { fileStore } from "../../client/stores/file_store.ts";
import { NetworkLink } from "../../simulator/network_link.ts";
import { openTestApp, type TestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { teamDevice } from "../support/teams.ts";
import { eventually } from "../support/eventually.ts";

interface Served extends AsyncDisposable {
  t: TestApp;
  base: string;
  /** A started client of a new device of `user`; stopped when the test ends. */
  client(user: string, options?: Partial<SyncClientOptions>): Promise<SyncClient>;
  /** A started client of `device` (memory store unless given); stopped when the test ends. */
  start(device: { token: string }, options?: Partial<SyncClientOptions>): Promise<SyncClient>;
}

async function serve(kind: "pglite" | "postgres"): Promise<Served> {
  const t = await openTestApp(kind);
  const base = await t.serve();
  const clients: SyncClient[] = [];
  const start: Served["start"] = async (device, options = {}) => {
    const client = new SyncClient({
      baseUrl: base,
      deviceToken: device.token,
      store: memoryStore(),
      ...options,
    });
    clients.push(client);
    await client.start();
    return client;
  };
  return {
    t,
    base,
    start,
    async client(user, options = {}) {
      return await start(await t.device(user, `device ${clients.length}`), options);
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((c) => c.stop()));
      await t[Symbol.asyncDispose]();
    },
  };
}

/** What a fresh full pull by `token` holds: live items by key. */
async function serverItems(s: Served, token: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let since = "";
  for (;;) {
    const res = await s.t.request("GET", `/api/sync/data?limit=1000${since && `&since=${since}`}`, {
      token,
    });
    const page = await res.json();
    for (const c of page.changes) {
      if (c.deleted) delete out[`${c.collection}/${c.id}`];
      else out[`${c.collection}/${c.id}`] = c.data;
    }
    since = page.cursor;
    if (!page.has_more) return out;
  }
}

function localItems(client: SyncClient, collections: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of collections) {
    for (const item of client.list(c)) out[`${c}/${item.id}`] = item.data;
  }
  return out;
}

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "client-restart-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

const PROFILE = { name: "box", host: "box.example", username: "me", port: 22 };

withDrivers("SyncClient", (_open, kind) => {
  const test = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn });

  test("puts reach another device live over the socket, with change events, and the devices ack", async () => {
    await using s = await serve(kind);
    const laptop = await s.client("alice");
    const phone = await s.client("alice");
    const heard: ChangeEvent[] = [];
    phone.on("change", (e) => heard.push(e));

    const id = laptop.put("commands", crypto.randomUUID(), {
      command: "ls -la",
      session_id: "s1",
      started_at: 1,
    });
    assert.match(id, /^[0-9a-f-]{36}$/);
    laptop.put("settings", "ui", { theme: "dark" });
    laptop.put("ssh_profiles", "box", PROFILE);
    await laptop.flush();
    await eventually(
      () => phone.get("ssh_profiles", "box") !== undefined,
      5_000,
      "the profile on the phone",
    );
    assert.deepEqual(phone.get("settings", "ui")?.data, { theme: "dark" });
    assert.deepEqual(heard.map((e) => [e.collection, e.source, e.cause]).sort(), [
      ["commands", "remote", "pull"],
      ["settings", "remote", "pull"],
      ["ssh_profiles", "remote", "pull"],
    ]);
    const collections = ["commands", "settings", "ssh_profiles"];
    const checker = await s.t.device("alice", "checker");
    assert.deepEqual(localItems(phone, collections), await serverItems(s, checker.token));

    // Deleting on the phone reaches the laptop.
    assert.ok(phone.delete("ssh_profiles", "box"));
    await phone.flush();
    await eventually(
      () => laptop.get("ssh_profiles", "box") === undefined,
      5_000,
      "the delete on the laptop",
    );

    // Acks: the service knows each device applied up to its cursor.
    await eventually(
      async () => {
        const res = await s.t.request("GET", "/api/devices", { token: checker.token });
        const { devices } = await res.json();
        const cursors = new Map(
          devices.map((d: { name: string; cursor: string }) => [d.name, d.cursor]),
        );
        return cursors.get("device 0") === laptop.cursor &&
          cursors.get("device 1") === phone.cursor;
      },
      5_000,
      "acked cursors",
    );
  });

  test("changes made offline survive a restart (fileStore) and go out in order, once, with the ids put() gave", async () => {
    await using s = await serve(kind);
    const device = await s.t.device("bob", "laptop");
    await using dir = await tempDir();
    const path = `${dir.path}/sync.json`;
    const link = new NetworkLink();
    link.goOffline();
    const offline = new SyncClient({
      baseUrl: s.base,
      deviceToken: device.token,
      store: fileStore(path),
      fetch: link.fetch,
      webSocket: link.webSocket,
    });
    await offline.start();
    assert.equal(offline.status.state, "offline");
    const ids = [
      offline.put("settings", "ui", { theme: "dark" }),
      offline.put("settings", "ui", { theme: "light", font: 13 }),
      offline.put("commands", "c1", { command: "make", session_id: "s", started_at: 1 }),
    ];
    offline.put("commands", "typo", { command: "sl", session_id: "s", started_at: 2 });
    assert.equal(offline.delete("commands", "typo"), null, "never stored, so nothing to send");
    await offline.stop();

    const requests: { changes: { change_id: string }[] }[] = [];
    const watching: typeof fetch = async (input, init) => {
      if (init?.method === "POST") requests.push(JSON.parse(String(init.body)));
      return await fetch(input, init);
    };
    const back = new SyncClient({
      baseUrl: s.base,
      deviceToken: device.token,
      store: fileStore(path),
      fetch: watching,
    });
    await back.start();
    assert.deepEqual(
      back.get("settings", "ui")?.data,
      { theme: "light", font: 13 },
      "local state survived",
    );
    await back.flush();
    // Two changes of one item never share a batch: the second waits for the first's version.
    assert.deepEqual(requests.flatMap((r) => r.changes.map((c) => c.change_id)), ids);
    assert.deepEqual(requests.map((r) => r.changes.length), [1, 2]);
    assert.equal(back.get("settings", "ui")?.version, 2);
    assert.equal(back.get("commands", "typo"), undefined);
    const server = await serverItems(s, device.token);
    assert.deepEqual(server, {
      "settings/ui": { theme: "light", font: 13 },
      "commands/c1": { command: "make", session_id: "s", started_at: 1 },
    });
    await back.stop();
  });

  test("a batch cut off by a dropped connection is sent again with the same change ids and stored once", async () => {
    await using s = await serve(kind);
    const device = await s.t.device("carol", "phone");
    const link = new NetworkLink();
    let answered = 0;
    // The first push reaches the server, but the device never hears the answer.
    const dropFirstAnswer: typeof fetch = async (input, init) => {
      const res = await link.fetch(input, init);
      if (init?.method === "POST" && answered++ === 0) {
        link.goOffline();
        setTimeout(() => link.goOnline(), 50);
        throw new TypeError("connection reset");
      }
      return res;
    };
    const client = await s.start(device, {
      fetch: dropFirstAnswer,
      backoff: { baseMs: 20, maxMs: 100 },
      realtime: false,
    });
    for (let i = 0; i < 3; i++) {
      client.put("commands", `c${i}`, { command: `echo ${i}`, session_id: "s", started_at: i });
    }
    await client.flush();
    assert.equal(answered, 2);
    await client.pull();
    assert.deepEqual(client.list("commands").map((i) => [i.id, i.version, i.pending]), [
      ["c0", 1, false],
      ["c1", 1, false],
      ["c2", 1, false],
    ]);
    const stats = await (await s.t.request("GET", "/api/sync/stats", { token: device.token }))
      .json();
    assert.deepEqual(stats.collections.commands, { items: 3, deleted: 0 });
    await client.stop();
  });

  test("rejected changes raise `rejected`, are never sent again, and the item returns to the server's copy", async () => {
    await using s = await serve(kind);
    const client = await s.client("dave");
    const rejected: { code: string; id: string }[] = [];
    client.on("rejected", (e) => rejected.push({ code: e.error.code, id: e.change.id }));
    const changes: ChangeEvent[] = [];
    client.on("change", (e) => changes.push(e));
    client.put("ssh_keys", "k1", { name: "laptop", type: "dsa", fingerprint: "nope" });
    client.put("commands", "secret", {
      command: "export AWS_SECRET_ACCESS_KEY=abc123",
      session_id: "s",
      started_at: 1,
    });
    client.put("settings", "ui", { theme: "dark" });
    await client.flush();
    assert.deepEqual(rejected, [{ code: "VALIDATION_FAILED", id: "k1" }]);
    assert.equal(client.get("ssh_keys", "k1"), undefined);
    assert.equal(
      client.get("commands", "secret"),
      undefined,
      "filtered: the server will never hold it",
    );
    assert.deepEqual(
      changes.filter((e) => e.source === "remote").map((e) => [e.id, e.item, e.cause]),
      [["k1", null, "rejected"], ["secret", null, "filtered"]],
    );
    assert.equal(client.status.queued, 0);
    assert.deepEqual(client.get("settings", "ui")?.data, { theme: "dark" });
  });

  test("concurrent edits merge by the collection's strategy and both devices converge", async () => {
    await using s = await serve(kind);
    const a = await s.client("erin");
    const b = await s.client("erin");
    a.put("ssh_profiles", "box", PROFILE);
    await a.flush();
    await eventually(() => b.get("ssh_profiles", "box") !== undefined, 5_000, "profile on b");
    // Both edit different fields of version 1 at once: field_merge keeps both edits.
    a.put("ssh_profiles", "box", { ...PROFILE, port: 2222 });
    b.put("ssh_profiles", "box", { ...PROFILE, notes: "prod" });
    await Promise.all([a.flush(), b.flush()]);
    const merged = { ...PROFILE, port: 2222, notes: "prod" };
    await eventually(
      () => [a, b].every((c) => jsonEqual(c.get("ssh_profiles", "box")?.data, merged)),
      5_000,
      "both devices on the merged profile",
    );
    assert.equal(a.get("ssh_profiles", "box")?.version, 3);
    assert.equal(b.get("ssh_profiles", "box")?.version, 3);
  });

  test("a manual conflict raises `conflict` with both sides once the device shows the server's side; keepLocal() settles it on every device", async () => {
    await using s = await serve(kind);
    const a = await s.client("frank");
    // Once slowPulls is on, b's pulls answer 300 ms late: b pushes its edit before it has
    // pulled a's, and the conflict list comes back first; the event must wait for that pull.
    let slowPulls = false;
    const b = await s.client("frank", {
      fetch: async (input, init) => {
        const pull = (init?.method ?? "GET") === "GET" && String(input).includes("/sync/data");
        if (slowPulls && pull) await new Promise((resolve) => setTimeout(resolve, 300));
        return await fetch(input, init);
      },
    });
    a.put("settings", "sync", { conflict_strategies: { ai_preferences: "manual" } });
    a.put("ai_preferences", "main", { provider: "openai" });
    await a.flush();
    await eventually(() => b.get("ai_preferences", "main") !== undefined, 5_000, "prefs on b");
    const conflicts: Parameters<Parameters<SyncClient["on"]>[1]>[0][] = [];
    b.on("conflict", (e) => conflicts.push(e));
    slowPulls = true;
    a.put("ai_preferences", "main", { provider: "anthropic" });
    await a.flush();
    b.put("ai_preferences", "main", { provider: "local" });
    await b.flush();
    await eventually(() => conflicts.length === 1, 5_000, "the conflict event");
    const event = conflicts[0] as {
      conflict: { local: { data: unknown }; remote: { data: unknown } };
      keepLocal(): Promise<void>;
    };
    assert.deepEqual(event.conflict.local.data, { provider: "local" });
    assert.deepEqual(event.conflict.remote.data, { provider: "anthropic" });
    // Until resolved, b shows what the server holds.
    assert.deepEqual(b.get("ai_preferences", "main")?.data, { provider: "anthropic" });
    await event.keepLocal();
    await eventually(
      () =>
        [a, b].every((c) =>
          (c.get("ai_preferences", "main")?.data as { provider?: string })?.provider === "local"
        ),
      5_000,
      "the resolution on both devices",
    );
    assert.deepEqual(await a.conflicts("open"), []);
  });

  test("410 SYNC_CURSOR_EXPIRED: the client replaces its state with a full pull and keeps its queue", async () => {
    await using s = await serve(kind);
    const device = await s.t.device("gina", "phone");
    const other = await s.client("gina");
    const link = new NetworkLink();
    const pulls: number[] = [];
    const watching: typeof fetch = async (input, init) => {
      const res = await link.fetch(input, init);
      if (!init?.method || init.method === "GET") pulls.push(res.status);
      return res;
    };
    const client = await s.start(device, { fetch: watching, webSocket: link.webSocket });
    other.put("settings", "ui", { theme: "dark" });
    other.put("settings", "stale", { x: 1 });
    await other.flush();
    await eventually(() => client.get("settings", "stale") !== undefined, 5_000, "items pulled");
    link.goOffline();
    client.put("settings", "offline", { made: "offline" });
    other.delete("settings", "stale");
    other.put("settings", "ui", { theme: "light" });
    await other.flush();
    // The compaction job purged the tombstone and moved the horizon past this device's cursor.
    await s.t.db.driver.query("delete from items where user_id = 'gina' and id = 'stale'");
    await s.t.db.driver.query("update users set purged_seq = seq where user_id = 'gina'");
    pulls.length = 0;
    link.goOnline();
    await client.pull();
    await client.flush();
    await client.pull();
    assert.equal(pulls[0], 410, "the stored cursor had expired");
    assert.deepEqual(client.get("settings", "ui")?.data, { theme: "light" });
    assert.equal(client.get("settings", "stale"), undefined, "the purged item is gone");
    assert.deepEqual(
      client.get("settings", "offline")?.data,
      { made: "offline" },
      "the queued change survived",
    );
    assert.equal(client.get("settings", "offline")?.pending, false);
    await client.stop();
  });

  test("401: a removed device's client stops with status `unauthorized`; a bad token fails start()", async () => {
    await using s = await serve(kind);
    const device = await s.t.device("hank", "phone");
    const client = new SyncClient({
      baseUrl: s.base,
      deviceToken: device.token,
      store: memoryStore(),
    });
    const states: string[] = [];
    client.on("status", (e) => states.push(e.state));
    await client.start();
    await eventually(() => client.status.socket === "open", 5_000, "socket open");
    const res = await s.t.request("DELETE", `/api/devices/${device.id}`, {
      token: await s.t.accountToken("hank"),
    });
    assert.equal(res.status, 204);
    await eventually(() => client.status.state === "unauthorized", 5_000, "unauthorized");
    assert.throws(() => client.put("settings", "ui", {}), /stopped/);
    assert.ok(states.includes("online"));
    await client.stop();

    const bad = new SyncClient({
      baseUrl: s.base,
      deviceToken: "dpd_not-a-token",
      store: memoryStore(),
    });
    await assert.rejects(() => bad.start(), (e: Error & { status?: number }) => e.status === 401);
    assert.equal(bad.status.state, "unauthorized");
    await bad.stop();
  });

  test("a team admin's put reaches a member's client live, with its author; a member's put is refused and put back", async () => {
    await using s = await serve(kind);
    const admin = await s.start(await teamDevice(s.t, "ivy", "acme", "admin"));
    const jon = await teamDevice(s.t, "jon", "acme");
    const member = await s.start(jon);
    const rejected: string[] = [];
    member.on("rejected", (e) => rejected.push(e.error.code));

    admin.put("team_ssh_profiles", "db", PROFILE);
    await admin.flush();
    await eventually(() => member.get("team_ssh_profiles", "db") !== undefined, 5_000, "live");
    const item = member.get("team_ssh_profiles", "db")!;
    assert.deepEqual([item.data, item.version, item.author], [PROFILE, 1, "ivy"]);

    member.put("team_ssh_profiles", "db", { ...PROFILE, port: 2222 });
    await member.flush();
    assert.deepEqual(rejected, ["FORBIDDEN"]);
    assert.deepEqual(member.get("team_ssh_profiles", "db")?.data, PROFILE);
    // The member's cursor covers the team's stream: nothing new, and nothing lost, on a pull.
    await member.pull();
    assert.deepEqual(
      localItems(member, ["team_ssh_profiles"]),
      await serverItems(s, jon.token),
    );
  });
});
