import assert from "node:assert/strict";
import { mintAccountToken } from "../../sync/account_tokens.ts";
import { decodeCursor } from "../../sync/cursor.ts";
import type { ServerMessage } from "../../sync/ws/messages.ts";
import { TEST_SECRET } from "../support/app.ts";
import type { Instance } from "../support/instance.ts";
import { eventually } from "../support/eventually.ts";
import { connectWs, type WsClient } from "../support/ws_client.ts";

/** Where a test sends requests and opens sockets: an instance in this process or another. */
export type Endpoint = Pick<Instance, "url" | "request">;

/** A registered device of a user, talking to whichever instance a call names. */
export interface Device {
  id: string;
  token: string;
}

/** What one pushed change became, by (collection, id). */
export interface Pushed {
  cursor: string;
  keys: string[];
}

/** A user id no other test (or earlier run on the shared Redis) uses. */
export function randomUser(): string {
  return `e2e-${crypto.randomUUID()}`;
}

/** Where a call goes: an instance of this process, or one in a process of its own (by URL). */
type Requests = Pick<Instance, "request">;

/** Registers a device; with `installId`, the same device again (with a new token) if it exists. */
export async function register(
  at: Requests,
  userId: string,
  name: string,
  installId?: string,
): Promise<Device> {
  const token = await mintAccountToken(TEST_SECRET, { userId, tier: "pro", expiresInSeconds: 600 });
  const res = await at.request("POST", "/api/devices/register", {
    token,
    body: { name, platform: "ios", ...(installId && { install_id: installId }) },
  });
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  return { id: body.device.id, token: body.token };
}

// Command history dedupes on (command, session): every pushed command differs.
let unique = 0;

/** Pushes `count` new commands (and an `ssh_profiles` item when asked) in one batch. */
export async function push(
  at: Requests,
  device: Device,
  { commands = 1, profile = false }: { commands?: number; profile?: boolean } = {},
): Promise<Pushed> {
  const changes = [];
  for (let i = 0; i < commands; i++) {
    changes.push(change("commands", {
      command: `echo e2e ${unique++}`,
      session_id: "s1",
      started_at: 1_700_000_000_000,
    }));
  }
  if (profile) {
    changes.push(
      change("ssh_profiles", { name: `box ${unique++}`, host: "h.example", username: "me" }),
    );
  }
  const res = await at.request("POST", "/api/sync/data", {
    token: device.token,
    body: { changes },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json() as { results: { status: string }[]; cursor: string };
  assert.deepEqual(body.results.map((r) => r.status), changes.map(() => "applied"));
  return { cursor: body.cursor, keys: changes.map((c) => `${c.collection}/${c.id}`) };
}

function change(collection: string, data: Record<string, unknown>) {
  return {
    change_id: crypto.randomUUID(),
    collection,
    id: crypto.randomUUID(),
    op: "upsert",
    data,
    base_version: null,
    modified_at: Date.now(),
  };
}

/** Every change after `since` (all when absent), page by page; and the final cursor. */
export async function pullAll(
  at: Requests,
  device: Device,
  since?: string,
): Promise<{ keys: string[]; cursors: string[]; cursor: string | undefined }> {
  const keys: string[] = [];
  const cursors: string[] = [];
  let cursor = since;
  for (;;) {
    const query = new URLSearchParams({ limit: "200", ...(cursor && { since: cursor }) });
    const res = await at.request("GET", `/api/sync/data?${query}`, { token: device.token });
    assert.equal(res.status, 200, await res.clone().text());
    const page = await res.json() as {
      changes: { collection: string; id: string; cursor: string }[];
      cursor: string;
      has_more: boolean;
    };
    for (const c of page.changes) {
      keys.push(`${c.collection}/${c.id}`);
      cursors.push(c.cursor);
    }
    cursor = page.cursor;
    if (!page.has_more) return { keys, cursors, cursor };
  }
}

/** Cursor order: the sequence number inside the opaque string. */
export function seq(cursor: string): number {
  return decodeCursor(cursor);
}

/** A hint as received by a socket, with when it arrived. */
export interface Hint {
  at: number;
  cursor: string;
  collections: string[];
  origin: string | null;
}

/**
 * A device's socket that records every `sync_data_available` as it arrives (beside the
 * client's own queue, which the test may still read).
 */
export interface Watcher extends AsyncDisposable {
  ws: WsClient;
  hints: Hint[];
  messages: ServerMessage[];
  /** Waits until a hint with a cursor at or past `cursor` arrived; returns it. */
  waitFor(cursor: string, timeoutMs?: number): Promise<Hint>;
}

/**
 * Opens a socket, says `hello` at `cursor` and waits for the reply order (a pong after
 * the hello) so the instance is subscribed to the user's channel before the test goes on.
 */
export async function watch(
  at: Pick<Instance, "url">,
  device: Device,
  cursor?: string,
): Promise<Watcher> {
  const ws = await connectWs(at.url, device.token);
  const hints: Hint[] = [];
  const messages: ServerMessage[] = [];
  ws.socket.addEventListener("message", (e) => {
    const message = JSON.parse(e.data) as ServerMessage;
    messages.push(message);
    if (message.type === "sync_data_available") {
      hints.push({
        at: Date.now(),
        cursor: message.cursor,
        collections: [...message.collections].sort(),
        origin: message.origin_device_id,
      });
    }
  });
  ws.send({ type: "hello", ...(cursor && { cursor }) });
  ws.send({ type: "ping" });
  await eventually(() => messages.some((m) => m.type === "pong"), 5_000, "pong after hello");
  return {
    ws,
    hints,
    messages,
    async waitFor(cursor, timeoutMs = 10_000) {
      const find = () => hints.find((h) => seq(h.cursor) >= seq(cursor));
      await eventually(() => find() !== undefined, timeoutMs, `a hint at or past ${cursor}`);
      return find()!;
    },
    [Symbol.asyncDispose]: () => ws[Symbol.asyncDispose](),
  };
}

/**
 * What every test of an interrupted stream asserts on a socket's hints: repeats are
 * allowed, skips are not, and nothing is invented.
 */
export function assertNoSkip(hints: Hint[], pushed: Pushed[], who: string): void {
  const cursors = new Set(pushed.map((p) => p.cursor));
  for (const hint of hints) {
    assert.ok(cursors.has(hint.cursor), `${who}: hint ${hint.cursor} is no push's cursor`);
  }
  // §6 (contract): for every push, a hint at or past its cursor arrives.
  for (const p of pushed) {
    assert.ok(
      hints.some((h) => seq(h.cursor) >= seq(p.cursor)),
      `${who}: nothing at or past ${p.cursor}`,
    );
  }
  // The listener promises more: each committed transaction is published at least once.
  const heard = new Set(hints.map((h) => h.cursor));
  const missing = [...cursors].filter((c) => !heard.has(c));
  assert.deepEqual(missing, [], `${who}: transactions never published`);
}

/** The close code of a socket that must close within `ms`; fails if it stays open. */
export function closedWithin(ws: { closed: Promise<{ code: number }> }, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    ws.closed.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Socket still open after ${ms} ms`)), ms);
    }),
  ]);
}
