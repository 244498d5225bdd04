import type { Pgoutput } from "pg-logical-replication";
import { encodeCursor } from "../cursor.ts";
import type { SyncEvent } from "../events.ts";
import { syncedTeam } from "../teams.ts";
import { TIERS } from "../tiers.ts";

/**
 * An event bound for one owner's channel: a user's, or a team's for a team's owner key
 * (`team:<id>`, sync/teams.ts), whose items rows carry it as their `user_id`.
 */
export interface OwnerEvent {
  owner: string;
  event: SyncEvent;
}

type Row = Record<string, unknown>;

/** Prefix of the logical messages the `devices` triggers emit (migration 005). */
export const DEVICE_EVENT_PREFIX = "devpocket.device";
/** Prefix of the logical messages a change of a user's tier or team emits (migration 008). */
export const ACCOUNT_EVENT_PREFIX = "devpocket.account";

interface PendingChanges {
  maxSeq: number;
  collections: Set<string>;
  devices: Set<string | null>;
}

/**
 * Folds one transaction's pgoutput messages (as `PgoutputPlugin` yields them, between
 * `begin` and `commit`) into per-owner events. Pure: no I/O, no clock. Memory grows with
 * the number of owners and collections touched, not with the number of rows, so a large
 * compaction or redaction transaction stays cheap.
 *
 * - `items` insert/update → one `changes` event per owner (a user, or a team for its
 *   items): highest cursor in that owner's stream, sorted collections, the origin device
 *   (null when the rows came from several devices).
 * - `items` delete (tombstone compaction) → nothing: devices already applied it.
 * - `conflicts` insert → `conflict`.
 * - a `devpocket.device` message (emitted by the `devices` triggers) → `device` revoked for a
 *   deletion, `token_replaced` when the device registered again with a new token.
 * - `devices` delete → `device` revoked: what a publication made by an older version
 *   carries, for WAL written before the upgrade.
 * - a `devpocket.account` message (a user's tier or team changed) → `team_changed` with
 *   the team the user's devices now sync.
 *
 * Only `user_id`, `collection`, `seq`, `device_id` and ids are read: on Postgres 15 and
 * later the publication carries no other column of `items` (slot.ts), and before it an
 * unchanged TOAST `data` column (decoded as `undefined`) never matters.
 *
 * @example
 * const tx = new TransactionDecoder();
 * for (const message of messages) tx.add(message);
 * const events = tx.events();
 */
export class TransactionDecoder {
  // Users in the order they first appear; their changes event takes that place.
  #order: Array<{ owner: string; changes: true } | OwnerEvent> = [];
  #changes = new Map<string, PendingChanges>();

  /** Takes one message of the transaction; messages that carry no change are ignored. */
  add(message: Pgoutput.Message): void {
    switch (message.tag) {
      case "insert":
      case "update":
        if (message.relation.name === "items") this.#itemChanged(message.new);
        else if (message.relation.name === "conflicts" && message.tag === "insert") {
          this.#conflictCreated(message.new);
        }
        return;
      case "delete":
        if (message.relation.name === "devices") this.#deviceDeleted(message.old ?? message.key);
        return;
      case "message":
        if (message.prefix === DEVICE_EVENT_PREFIX) this.#deviceEvent(message.content);
        else if (message.prefix === ACCOUNT_EVENT_PREFIX) this.#accountEvent(message.content);
        return;
      default:
        return;
    }
  }

  /** The transaction's events in order of first appearance per owner. */
  events(): OwnerEvent[] {
    return this.#order.map((entry) => {
      if ("event" in entry) return entry;
      const pending = this.#changes.get(entry.owner)!;
      const devices = [...pending.devices];
      return {
        owner: entry.owner,
        event: {
          type: "changes",
          cursor: encodeCursor(pending.maxSeq),
          collections: [...pending.collections].sort(),
          origin_device_id: devices.length === 1 ? devices[0] : null,
        },
      };
    });
  }

  #itemChanged(row: Row): void {
    const owner = text(row.user_id);
    const collection = text(row.collection);
    const seq = toSeq(row.seq);
    if (owner === null || collection === null || seq === null) return;
    let pending = this.#changes.get(owner);
    if (!pending) {
      pending = { maxSeq: seq, collections: new Set(), devices: new Set() };
      this.#changes.set(owner, pending);
      this.#order.push({ owner, changes: true });
    }
    pending.maxSeq = Math.max(pending.maxSeq, seq);
    pending.collections.add(collection);
    pending.devices.add(text(row.device_id));
  }

  #conflictCreated(row: Row): void {
    const userId = text(row.user_id);
    const conflictId = text(row.id);
    const collection = text(row.collection);
    const itemId = text(row.item_id);
    if (userId === null || conflictId === null || collection === null || itemId === null) return;
    this.#order.push({
      owner: userId,
      event: { type: "conflict", conflict_id: conflictId, collection, item_id: itemId },
    });
  }

  #deviceEvent(content: Uint8Array): void {
    const row = parseMessage(content);
    if (row?.event === "revoked") this.#deviceDeleted(row);
    else if (row?.event === "token_replaced") {
      const userId = text(row.user_id);
      const deviceId = text(row.device_id);
      if (userId === null || deviceId === null) return;
      this.#order.push({ owner: userId, event: { type: "token_replaced", device_id: deviceId } });
    }
  }

  #accountEvent(content: Uint8Array): void {
    const row = parseMessage(content);
    const userId = text(row?.user_id);
    const tier = TIERS.find((t) => t === row?.tier);
    if (userId === null || tier === undefined) return;
    const team = syncedTeam({ tier, teamId: text(row?.team_id) });
    this.#order.push({ owner: userId, event: { type: "team_changed", team_id: team } });
  }

  #deviceDeleted(row: Row | null): void {
    // A trigger's message names the device `device_id`; an old row (devices has replica
    // identity full) carries it as `id`, with user_id.
    const userId = text(row?.user_id);
    const deviceId = text(row?.device_id ?? row?.id);
    if (userId === null || deviceId === null) return;
    this.#order.push({
      owner: userId,
      event: { type: "device", device_id: deviceId, status: "revoked" },
    });
  }
}

/**
 * Events of one whole transaction.
 * @example decodeTransaction([begin, relation, insert, commit]) // [{ userId, event }]
 */
export function decodeTransaction(messages: Iterable<Pgoutput.Message>): OwnerEvent[] {
  const tx = new TransactionDecoder();
  for (const message of messages) tx.add(message);
  return tx.events();
}

/** The JSON object of a trigger's logical message; null when it is not one. */
function parseMessage(content: Uint8Array): Row | null {
  try {
    const row = JSON.parse(new TextDecoder().decode(content));
    return row !== null && typeof row === "object" ? row : null;
  } catch {
    return null;
  }
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

// pg parses int8 as a string unless a type parser was installed; accept every form.
function toSeq(value: unknown): number | null {
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "bigint") {
    return null;
  }
  const seq = Number(value);
  return Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
}
