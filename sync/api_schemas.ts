/**
 * The shapes the HTTP API answers with (DESIGN.md §3). The services' return types are
 * inferred from these schemas and `/openapi.json` is generated from them, so the code and
 * the document cannot drift apart.
 */
import { z } from "zod";
import { COLLECTIONS } from "./collections.ts";
import { Cursor } from "./cursor.ts";
import { ERROR_CODES } from "./errors.ts";

const EpochMs = z.number().int().nonnegative().meta({ description: "ms since the epoch" });
const Count = z.number().int().nonnegative();
const Id = z.guid();
const ItemData = z.record(z.string(), z.unknown());

/** The contract's error body; `INTERNAL` only ever comes with a 500. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.enum([...ERROR_CODES, "INTERNAL"]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const DeviceView = z.object({
  id: Id,
  name: z.string(),
  platform: z.string(),
  install_id: z.string().nullable(),
  app_version: z.string().nullable(),
  created_at: EpochMs,
  last_seen_at: EpochMs.nullable(),
  online: z.boolean().meta({ description: "Seen within the last 90 seconds" }),
  cursor: Cursor.meta({ description: "The device's acknowledged cursor" }),
  behind: Count.meta({
    description: "Changes committed after the device's acknowledged cursor (its user's, and " +
      "its team's for a member of a team)",
  }),
});
export type DeviceView = z.infer<typeof DeviceView>;

export const RegisteredDevice = z.object({
  device: DeviceView,
  token: z.string().regex(/^dpd_[A-Za-z0-9_-]+$/).meta({
    description: "The device token; shown once",
  }),
});

export const DeviceList = z.object({ devices: z.array(DeviceView) });

export const CHANGE_STATUSES = [
  "applied",
  "merged",
  "kept_remote",
  "conflict",
  "duplicate",
  "filtered",
  "rejected",
] as const;
export type ChangeStatus = typeof CHANGE_STATUSES[number];

export const ChangeResult = z.object({
  change_id: z.string().nullable().meta({ description: "null when the change had none" }),
  status: z.enum(CHANGE_STATUSES),
  version: z.number().int().min(1).optional(),
  conflict_id: Id.optional(),
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: ItemData.optional(),
  }).optional(),
});
export type ChangeResult = z.infer<typeof ChangeResult>;

export const PushResult = z.object({
  results: z.array(ChangeResult).meta({ description: "One per change, in request order" }),
  cursor: Cursor.meta({ description: "The cursor of the batch's last stored change" }),
});
export type PushResult = z.infer<typeof PushResult>;

export const PulledChange = z.object({
  collection: z.enum(COLLECTIONS),
  id: z.string(),
  version: z.number().int().min(1),
  data: ItemData.nullable().meta({ description: "null for a tombstone" }),
  deleted: z.boolean(),
  redacted: z.literal(true).optional(),
  modified_at: EpochMs,
  device_id: z.string().nullable(),
  author: z.string().optional().meta({
    description: "Team items only: the user id of the writer of this version",
  }),
  cursor: Cursor,
});
export type PulledChange = z.infer<typeof PulledChange>;

export const PullResult = z.object({
  changes: z.array(PulledChange),
  cursor: Cursor.meta({ description: "Pull again from here" }),
  has_more: z.boolean(),
});
export type PullResult = z.infer<typeof PullResult>;

export const SyncStats = z.object({
  cursor: Cursor,
  collections: z.record(z.string(), z.object({ items: Count, deleted: Count })),
  devices: z.array(z.object({
    id: Id,
    name: z.string(),
    online: z.boolean(),
    last_sync_at: EpochMs.nullable(),
    cursor: Cursor,
  })),
  conflicts: z.object({
    open: Count,
    resolved: Count,
    outcomes: z.array(z.object({ strategy: z.string(), status: z.string(), count: Count }))
      .meta({ description: "Stale changes settled, per strategy and outcome" }),
  }),
  filtered_commands: Count,
});
export type SyncStats = z.infer<typeof SyncStats>;

/** `GET /api/sync/items/{collection}/{id}/receipts` (DESIGN.md §10). */
export const ItemReceipts = z.object({
  item: z.object({
    collection: z.enum(COLLECTIONS),
    id: z.string(),
    version: z.number().int().min(1),
    deleted: z.boolean(),
    cursor: Cursor.meta({ description: "The position of the item's latest version" }),
  }),
  devices: z.array(z.object({
    id: Id,
    name: z.string(),
    applied: z.boolean().meta({
      description: "The device's acknowledged cursor is at or past the item's latest version",
    }),
    cursor: Cursor.meta({ description: "The device's acknowledged cursor" }),
    last_seen_at: EpochMs.nullable(),
  })).meta({
    description: "The user's devices; for a team item, every seen device of the team's members",
  }),
});
export type ItemReceipts = z.infer<typeof ItemReceipts>;

/** `POST /api/sync/redact`. */
export const RedactResult = z.object({
  redacted: Count.meta({ description: "Items erased and replaced by a redacted tombstone" }),
});
export type RedactResult = z.infer<typeof RedactResult>;

/** One side of a conflict, as the strategies saw it. */
export const Version = z.object({
  data: ItemData.nullable(),
  deleted: z.boolean(),
  modified_at: EpochMs,
  device_id: z.string(),
});

export const ConflictView = z.object({
  id: Id,
  collection: z.enum(COLLECTIONS),
  item_id: z.string(),
  status: z.enum(["open", "resolved"]),
  strategy: z.string(),
  base: Version.nullable(),
  local: Version,
  remote: Version,
  resolution: z.enum(["local", "remote", "merged"]).nullable(),
  resolved_version: z.number().int().nullable(),
  created_at: EpochMs,
  resolved_at: EpochMs.nullable(),
});
export type ConflictView = z.infer<typeof ConflictView>;

export const ConflictList = z.object({ conflicts: z.array(ConflictView) });

export const Health = z.object({ status: z.literal("ok") });
export type Health = z.infer<typeof Health>;

export const Readiness = z.object({
  status: z.enum(["ready", "not_ready"]),
  database: z.object({ ok: z.boolean(), kind: z.enum(["pglite", "postgres"]) }),
  bus: z.object({ ok: z.boolean(), kind: z.enum(["memory", "redis", "redis-cluster", "upstash"]) }),
  listener: z.object({
    ok: z.boolean(),
    role: z.enum(["holder", "standby", "stopped"]),
    slot: z.string(),
    wal_status: z.enum(["reserved", "extended", "unreserved", "lost"]).nullable(),
    lag_bytes: z.number().nullable(),
    lag_seconds: z.number().nullable(),
    fault: z.object({ kind: z.string(), message: z.string() }).nullable().meta({
      description: "The fault that stops every notification (why /ready answers 503), if any",
    }),
  }).nullable().meta({ description: "null where this instance runs no replication listener" }),
});
export type Readiness = z.infer<typeof Readiness>;
