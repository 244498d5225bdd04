import type { z } from "zod";
import { PullQuery } from "../sync/change_schema.ts";
import { COLLECTIONS } from "../sync/collections.ts";
import type { ErrorCode } from "../sync/errors.ts";
import { ListQuery } from "./conflicts.ts";

/** Who may call an operation; each maps to the security requirement of the document. */
export type Auth = "public" | "account" | "device" | "either" | "socket";

/**
 * One HTTP operation as `/openapi.json` documents it. Errors implied by the rest are added
 * by the document builder: 401 for a token, 422 for a body or query, 413 for a body, 429
 * on `/api`. Every route the app serves must have one (a test compares both lists).
 */
export interface ApiOperation {
  method: "get" | "post" | "delete";
  /** OpenAPI path template; `{name}` parameters are UUIDs unless `params` says otherwise. */
  path: string;
  /** JSON Schemas of path parameters that are not UUIDs. */
  params?: Record<string, Record<string, unknown>>;
  operationId: string;
  summary: string;
  description?: string;
  tag: "devices" | "sync" | "conflicts" | "operations";
  auth: Auth;
  query?: z.ZodObject;
  /** Name of the request body's schema among the document's components. */
  body?: string;
  ok: {
    status: 101 | 200 | 201 | 204;
    description: string;
    /** A component schema name, for JSON answers. */
    schema?: string;
    /** A non-JSON answer. */
    media?: "text/plain" | "text/html" | "text/javascript" | "text/css" | "image/svg+xml";
  };
  errors?: ErrorCode[];
  /** The component schema of a 503 answer (for `/ready`). */
  unavailable?: string;
}

/** Every operation the app serves (DESIGN.md §3). */
export const OPERATIONS: ApiOperation[] = [
  {
    method: "post",
    path: "/api/devices/register",
    operationId: "registerDevice",
    summary: "Register a device",
    description: "The same `install_id` again answers the same device with a new token; the " +
      "old token stops working at once and its sockets close with 4401.",
    tag: "devices",
    auth: "account",
    body: "RegisterDeviceRequest",
    ok: { status: 201, description: "The device and its token", schema: "RegisteredDevice" },
    errors: ["SYNC_DEVICE_LIMIT_EXCEEDED"],
  },
  {
    method: "get",
    path: "/api/devices",
    operationId: "listDevices",
    summary: "List the user's devices",
    tag: "devices",
    auth: "either",
    ok: { status: 200, description: "The user's devices", schema: "DeviceList" },
  },
  {
    method: "delete",
    path: "/api/devices/{id}",
    operationId: "deleteDevice",
    summary: "Delete a device",
    description: "Its token fails at once and its sockets close with 4401.",
    tag: "devices",
    auth: "either",
    ok: { status: 204, description: "Deleted" },
    errors: ["NOT_FOUND"],
  },
  {
    method: "post",
    path: "/api/sync/data",
    operationId: "pushChanges",
    summary: "Push changes",
    description: "Each change is judged alone: one that fails its schema answers `rejected` in " +
      "its result, not a 422 for the batch. A retried batch (same `change_id`s) changes nothing " +
      "and answers the same versions. `team_ssh_profiles` belong to the account's team: a " +
      "change to them from a member (not an admin), from an account with no team, or from a " +
      "tier without team sync is `rejected` with `FORBIDDEN` (the last with " +
      '`details.upgrade: {tier: "team", reason: "team_sync"}`).',
    tag: "sync",
    auth: "device",
    body: "PushRequest",
    ok: { status: 200, description: "One result per change", schema: "PushResult" },
    errors: ["SYNC_SUBSCRIPTION_EXPIRED"],
  },
  {
    method: "get",
    path: "/api/sync/data",
    operationId: "pullChanges",
    summary: "Pull changes after a cursor",
    description: "The device's user's changes and, for a member of a team, the team's " +
      "(`team_ssh_profiles`, each with its `author`), under one cursor. 410 when `since` " +
      "predates the compaction horizon, or was issued for another team than the one the " +
      "user's newest account token names: pull again with no `since`.",
    tag: "sync",
    auth: "device",
    query: PullQuery,
    ok: { status: 200, description: "A page of changes", schema: "PullResult" },
    errors: ["SYNC_CURSOR_EXPIRED"],
  },
  {
    method: "get",
    path: "/api/sync/stats",
    operationId: "getSyncStats",
    summary: "Sync statistics of the user",
    tag: "sync",
    auth: "device",
    ok: { status: 200, description: "Counts, devices, conflicts, cursor", schema: "SyncStats" },
  },
  {
    method: "get",
    path: "/api/sync/items/{collection}/{id}/receipts",
    operationId: "getItemReceipts",
    summary: "Delete receipts of an item",
    description: "Which devices have applied the item's latest version (a delete included): " +
      "a device has once its acknowledged cursor is at or past the item's. A team item " +
      "(`team_ssh_profiles`) lists every seen device of the team's members. Another user's " +
      "or team's item, like an unknown one, is 404.",
    tag: "sync",
    auth: "device",
    params: {
      collection: { type: "string", enum: [...COLLECTIONS] },
      id: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
    },
    ok: { status: 200, description: "The item and each device", schema: "ItemReceipts" },
    errors: ["NOT_FOUND"],
  },
  {
    method: "post",
    path: "/api/sync/redact",
    operationId: "redactItems",
    summary: "Erase every stored item whose text matches",
    description: "Every item of the given collections (default `commands`) holding a string " +
      "that `pattern` (RE2, as `secret_patterns`) or `literal` matches, in its data, a kept " +
      "history version or a conflict copy, is erased everywhere it is stored and replaced by a " +
      "tombstone with `redacted: true` that every device pulls. Complete when it answers. " +
      "`team_ssh_profiles`: team admins only (`FORBIDDEN`).",
    tag: "sync",
    auth: "device",
    body: "RedactRequest",
    ok: { status: 200, description: "How many items were redacted", schema: "RedactResult" },
    errors: ["FORBIDDEN", "SYNC_SUBSCRIPTION_EXPIRED"],
  },
  {
    method: "get",
    path: "/api/sync/conflicts",
    operationId: "listConflicts",
    summary: "List conflicts",
    tag: "conflicts",
    auth: "device",
    query: ListQuery,
    ok: { status: 200, description: "Conflicts with both versions", schema: "ConflictList" },
  },
  {
    method: "post",
    path: "/api/sync/conflicts/{id}/resolve",
    operationId: "resolveConflict",
    summary: "Resolve a conflict",
    description: "`remember: true` stores the choice as the user's strategy for the collection.",
    tag: "conflicts",
    auth: "device",
    body: "ResolveConflictRequest",
    ok: { status: 200, description: "The resulting item", schema: "PulledChange" },
    errors: ["NOT_FOUND", "FORBIDDEN", "SYNC_CONFLICT_DETECTED", "SYNC_SUBSCRIPTION_EXPIRED"],
  },
  {
    method: "get",
    path: "/api/sync/ws",
    operationId: "openSyncSocket",
    summary: "Open the sync WebSocket",
    description: "WebSocket (DESIGN.md §6). Send the device token as the subprotocol " +
      "`bearer.<token>` beside `devpocket.sync.v1` (`Sec-WebSocket-Protocol: devpocket.sync.v1, " +
      "bearer.<token>`), or as `?token=`. A bad or revoked token is upgraded, then closed with " +
      "4401 (browsers cannot read a refused upgrade).",
    tag: "sync",
    auth: "socket",
    ok: { status: 101, description: "Switching protocols" },
    errors: ["VALIDATION_FAILED", "FORBIDDEN"],
  },
  {
    method: "get",
    path: "/health",
    operationId: "getHealth",
    summary: "Liveness",
    description: "The process serves requests; no I/O.",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "Alive", schema: "Health" },
  },
  {
    method: "get",
    path: "/ready",
    operationId: "getReadiness",
    summary: "Readiness",
    description: "Postgres, the bus and the replication listener (where this instance runs one).",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "Ready", schema: "Readiness" },
    unavailable: "Readiness",
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    summary: "Prometheus metrics",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "Prometheus text exposition", media: "text/plain" },
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApiDocument",
    summary: "This OpenAPI document",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "OpenAPI 3.1", schema: "OpenApiDocument" },
  },
  {
    method: "get",
    path: "/console",
    operationId: "getConsole",
    summary: "Web console",
    description: "Devices, stats and conflicts of an account, live over the WebSocket.",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "HTML page", media: "text/html" },
  },
  {
    method: "get",
    path: "/console/console.js",
    operationId: "getConsoleScript",
    summary: "Script of the web console",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "JavaScript", media: "text/javascript" },
  },
  {
    method: "get",
    path: "/console/console.css",
    operationId: "getConsoleStyle",
    summary: "Style of the web console",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "CSS", media: "text/css" },
  },
  {
    method: "get",
    path: "/console/icon.svg",
    operationId: "getConsoleIcon",
    summary: "Icon of the web console",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "SVG image", media: "image/svg+xml" },
  },
  {
    method: "get",
    path: "/docs",
    operationId: "getApiReference",
    summary: "Interactive API reference",
    description: "Renders this document; every asset is served by this instance.",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "HTML page", media: "text/html" },
  },
  {
    method: "get",
    path: "/docs/scalar.js",
    operationId: "getApiReferenceScript",
    summary: "Script of the API reference",
    description: "The Scalar API reference bundle, served from the installed package.",
    tag: "operations",
    auth: "public",
    ok: { status: 200, description: "JavaScript", media: "text/javascript" },
  },
];
