/**
 * The wire contract as the client sees it (DESIGN.md §3 and §6): plain types and a few
 * constants, no runtime dependency, so the browser build stays small. A contract test
 * (tests/client/wire_test.ts) holds them to the server's definitions.
 * @module
 */

/** Every collection this client can sync (`team_ssh_profiles` needs a team tier, §11). */
export const COLLECTIONS = [
  "commands",
  "ssh_profiles",
  "ssh_keys",
  "settings",
  "ai_preferences",
  "team_ssh_profiles",
] as const;
export type Collection = typeof COLLECTIONS[number];

/** Item ids: a UUID or a stable key such as a settings namespace. */
export const ITEM_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Most changes one push may carry. */
export const MAX_BATCH = 500;

/** Most changes one pull page may carry. */
export const MAX_PULL_LIMIT = 1000;

/** An item's data: a JSON object. */
export type ItemData = Record<string, unknown>;

/** One change as uploaded by `POST /api/sync/data`. */
export interface WireChange {
  change_id: string;
  collection: string;
  id: string;
  op: "upsert" | "delete";
  data?: ItemData;
  base_version: number | null;
  modified_at: number;
  checksum?: string;
}

export type ChangeStatus =
  | "applied"
  | "merged"
  | "kept_remote"
  | "conflict"
  | "duplicate"
  | "filtered"
  | "rejected";

/** The contract's error object, in error responses and rejected results. */
export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface ChangeResult {
  change_id: string | null;
  status: ChangeStatus;
  version?: number;
  conflict_id?: string;
  error?: WireError;
}

export interface PushResponse {
  results: ChangeResult[];
  cursor: string;
}

/** One change as `GET /api/sync/data` returns it: the item's version at that cursor. */
export interface PulledChange {
  collection: string;
  id: string;
  version: number;
  data: ItemData | null;
  deleted: boolean;
  redacted?: true;
  modified_at: number;
  device_id: string | null;
  cursor: string;
  /** The writer's user id (team items, §11). */
  author?: string;
}

export interface PullResponse {
  changes: PulledChange[];
  cursor: string;
  has_more: boolean;
}

export interface DeviceView {
  id: string;
  name: string;
  platform: string;
  install_id: string | null;
  app_version: string | null;
  created_at: number;
  last_seen_at: number | null;
  online: boolean;
  cursor: string;
  /** Changes committed after the device's acknowledged cursor. */
  behind?: number;
}

/** One side of a conflict as the server stored it. */
export interface ConflictVersion {
  data: ItemData | null;
  deleted: boolean;
  modified_at: number;
  device_id: string;
}

export type Resolution = "local" | "remote" | "merged";

export interface ConflictView {
  id: string;
  collection: string;
  item_id: string;
  status: "open" | "resolved";
  strategy: string;
  base: ConflictVersion | null;
  /** The incoming device's side. */
  local: ConflictVersion;
  /** The stored side. */
  remote: ConflictVersion;
  resolution: Resolution | null;
  resolved_version: number | null;
  created_at: number;
  resolved_at: number | null;
}

export interface SyncStats {
  cursor: string;
  collections: Record<string, { items: number; deleted: number }>;
  devices: { id: string; name: string; online: boolean; last_sync_at: number | null }[];
  conflicts: Record<string, unknown>;
  filtered_commands: number;
}

/** The one subprotocol of the socket; the token travels as `bearer.<token>` beside it. */
export const WS_PROTOCOL = "devpocket.sync.v1";
export const WS_BEARER_PREFIX = "bearer.";

/** Close codes of §6 and what a client does on each. */
export const WS_CLOSE = {
  unauthorized: 4401,
  rateLimited: 4429,
  internal: 1011,
  restarting: 1012,
  slowConsumer: 1013,
} as const;

export type ClientMessage =
  | { type: "hello"; cursor?: string }
  | { type: "ack"; cursor: string }
  | { type: "ping" };

export type ServerMessage =
  | {
    type: "sync_data_available";
    cursor: string;
    collections: string[];
    origin_device_id: string | null;
  }
  | { type: "sync_conflict"; conflict_id: string; collection: string; item_id: string }
  | { type: "sync_progress"; operation: string; done: number; total: number }
  | { type: "sync_completed"; device_id: string; cursor: string }
  | { type: "device_status"; device_id: string; status: "online" | "offline" | "revoked" }
  | { type: "pong" }
  | { type: "error"; code: string; message: string };
