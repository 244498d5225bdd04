import type { AccountToken } from "./account_tokens.ts";
import type { Account } from "./tiers.ts";
import type { Collection } from "./collections.ts";

/** A registered device, as the store keeps it (never its token). */
export interface DeviceRow {
  id: string;
  user_id: string;
  name: string;
  platform: string;
  install_id: string | null;
  app_version: string | null;
  /** The acknowledged position in the user's stream. */
  cursor: number;
  /** The acknowledged position in team `cursor_team_id`'s stream (0: none). */
  team_cursor: number;
  /** The team whose stream `team_cursor` counts (the device's team when it acknowledged). */
  cursor_team_id: string | null;
  created_at: Date;
  last_seen_at: Date | null;
}

/** A device found by its token, with its owner's account as last stored. */
export interface AuthenticatedDevice {
  device: DeviceRow;
  account: Account;
}

export interface ItemRow {
  collection: Collection;
  id: string;
  version: number;
  data: Record<string, unknown> | null;
  deleted: boolean;
  redacted: boolean;
  modified_at: number;
  device_id: string | null;
  change_id: string | null;
  seq: number;
  /** Commands only: the first 128 bits of sha256(canonical [command, session_id]) as a uuid. */
  dedupe_key: string | null;
  /** Team items only: the user id of the writer of this version (null for a user's own). */
  author: string | null;
}

export interface AppliedRow {
  change_id: string;
  collection: string;
  item_id: string;
  status: string;
  version: number | null;
  conflict_id: string | null;
  seq: number | null;
  /** The strategy that settled it, when the change was stale. */
  strategy?: string | null;
}

export interface ConflictRow {
  id: string;
  collection: Collection;
  item_id: string;
  status: "open" | "resolved";
  strategy: string;
  base: unknown;
  local: unknown;
  remote: unknown;
  change_id: string | null;
  resolution: string | null;
  resolved_version: number | null;
  created_at: Date;
  resolved_at: Date | null;
}

/** What a batch write can see: the state it must decide against, read under the user's lock. */
export interface BatchSnapshot {
  head: number;
  /**
   * Every change_id of the batch seen before: from applied_changes, or (for changes stored
   * as sent, which keep no applied_changes row) from the item version they wrote.
   */
  applied: Map<string, AppliedRow>;
  /** Current items by `itemKey(collection, id)`, for every item the batch touches and `settings/sync`. */
  items: Map<string, ItemRow>;
  /** Stored prior versions by `versionKey(collection, id, version)` for the batch's base versions. */
  bases: Map<string, ItemRow>;
  /** `itemKey(collection, dedupe_key)` → item id, for the batch's dedupe keys. */
  dedupe: Map<string, string>;
  /** The status of `BatchReads.conflictId`, read under its row lock; null when there is none. */
  conflictStatus?: ConflictRow["status"] | null;
}

/** What the batch decided to write, all in the same transaction. */
export interface BatchWrites {
  head: number;
  /** Items the snapshot did not hold: plain inserts. */
  newItems: ItemRow[];
  /** Items the snapshot held, in their new state. */
  changedItems: ItemRow[];
  history: ItemRow[];
  /** Outcomes to remember; changes stored as sent are recognised by their item version. */
  applied: AppliedRow[];
  conflicts: Omit<
    ConflictRow,
    "created_at" | "resolved_at" | "status" | "resolution" | "resolved_version"
  >[];
  /** An open conflict this batch resolves, closed in the same transaction. */
  closeConflict?: { id: string; resolution: string; version: number | null };
}

/** What a batch needs read before it can decide. */
export interface BatchReads {
  changeIds: string[];
  items: { collection: string; id: string }[];
  dedupeKeys: { collection: string; dedupe_key: string }[];
  /** The prior versions to read, once the current items are known. */
  bases: (items: Map<string, ItemRow>) => { collection: string; id: string; version: number }[];
  /** A conflict whose status the batch decides on (a resolution); locked until commit. */
  conflictId?: string;
  /**
   * Work of the batch's that needs nothing read, run once the reads are sent and before
   * their answer is awaited: on a database server, it runs while the server reads.
   */
  whileReading?: () => void;
}

export interface PullPage<R = ItemRow> {
  rows: R[];
  head: number;
  purgedSeq: number;
}

/**
 * A pulled change as the JSON text a pull answers (`toPulledChange` of sync_service.ts)
 * without its cursor and closing brace, which the page adds: written around the text the
 * database prints of the item's data, so a pull parses and re-stringifies no item data.
 */
export interface EncodedRow {
  seq: number;
  json: string;
}

/** The persistence the sync domain needs; implemented once in db/sql_store.ts for both drivers. */
export interface SyncStore {
  /**
   * Records an account token: it sets the user's account unless a newer one (larger `iat`)
   * was recorded before (equal `iat`: the one recorded last wins). Answers the account as it
   * now stands, which every instance sharing the database sees.
   */
  saveAccount(token: AccountToken): Promise<SavedAccount>;
  registerDevice(
    userId: string,
    input: { name: string; platform: string; install_id?: string; app_version?: string },
    tokenHash: string,
    maxDevices: number,
  ): Promise<{ device: DeviceRow; created: boolean } | "limit">;
  findDeviceByTokenHash(tokenHash: string): Promise<AuthenticatedDevice | null>;
  /** Marks devices seen now (one statement however many). */
  touchDevices(deviceIds: readonly string[]): Promise<void>;
  listDevices(userId: string): Promise<DeviceRow[]>;
  deleteDevice(userId: string, deviceId: string): Promise<boolean>;
  /**
   * Records a device's acknowledged cursor: `seq` in the user's stream and, for a member of
   * a team, `team.seq` in team `team.id`'s stream. Never moves a part back (a team part
   * of another team than the stored one replaces it) nor past its stream's head.
   */
  setDeviceCursor(
    userId: string,
    deviceId: string,
    seq: number,
    team?: { id: string; seq: number },
  ): Promise<void>;

  /**
   * Runs one batch under the user's lock: reads what `reads` names, lets `decide` (pure)
   * choose the writes, stores them, commits. `decide` may throw to write nothing. Throws
   * `StoreDataError` when the database refuses the writes for the data they carry.
   */
  writeBatch<T>(
    userId: string,
    reads: BatchReads,
    decide: (snapshot: BatchSnapshot) => { writes: BatchWrites; result: T },
  ): Promise<T>;
  /**
   * The owner's changes after `since` in sequence order, and its head and purge horizon.
   * `owner` is a user id or a team's owner key (sync/teams.ts). `withData: false` leaves
   * `data` null (hints need no data).
   */
  pull(
    owner: string,
    since: number,
    collections: readonly string[],
    limit: number,
    options?: { withData?: boolean },
  ): Promise<PullPage>;
  /** As `pull`, each row as the JSON text of its change ({@linkcode EncodedRow}). */
  pullEncoded(
    owner: string,
    since: number,
    collections: readonly string[],
    limit: number,
  ): Promise<PullPage<EncodedRow>>;
  getItem(userId: string, collection: string, id: string): Promise<ItemRow | null>;
  listConflicts(userId: string, status: "open" | "resolved"): Promise<ConflictRow[]>;
  getConflict(userId: string, conflictId: string): Promise<ConflictRow | null>;
  /** Counts of a user's items, conflicts and outcomes; of a team's items for a team's owner key. */
  stats(owner: string): Promise<StoreStats>;
}

/** An account as recorded by {@link SyncStore.saveAccount}. */
export interface SavedAccount extends Account {
  /**
   * The team the user's devices sync (sync/teams.ts `syncedTeam`) differs from the one
   * stored before this token: their sockets must reconnect, their cursors expire.
   */
  teamChanged: boolean;
}

export interface StoreStats {
  head: number;
  collections: { collection: string; items: number; deleted: number }[];
  conflicts: { open: number; resolved: number };
  /** Stale changes per strategy and outcome (`applied`, `merged`, `kept_remote`, `conflict`). */
  outcomes: { strategy: string; status: string; count: number }[];
  filtered: number;
}

/**
 * A batch write the database refused because of the data it carried, not because it is
 * unreachable: `value` when a value cannot be stored, `constraint` when the write would
 * break a rule of the stored data (a unique key, a check). Carries no database text.
 */
export class StoreDataError extends Error {
  constructor(readonly kind: "value" | "constraint", readonly sqlState: string) {
    super(`The database refused the batch's data (SQLSTATE ${sqlState})`);
    this.name = "StoreDataError";
  }
}

/** Map key of an item. */
export function itemKey(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}

/** Map key of one version of an item. */
export function versionKey(collection: string, id: string, version: number): string {
  return `${collection}\u0000${id}\u0000${version}`;
}
