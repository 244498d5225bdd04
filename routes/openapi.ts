import { Hono } from "hono";
import { z } from "zod";
import { Change } from "../sync/change_schema.ts";
import { type ErrorCode, STATUS } from "../sync/errors.ts";
import { ResolveBody } from "./conflicts.ts";
import { RegisterBody } from "./devices.ts";
import type { AppEnv } from "./env.ts";

const schema = (type: z.ZodType) => {
  const { $schema: _, ...rest } = z.toJSONSchema(type, { io: "input", unrepresentable: "any" });
  return rest;
};

const ErrorBody = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "details"],
      properties: {
        code: { type: "string", enum: Object.keys(STATUS) },
        message: { type: "string" },
        details: { type: "object" },
      },
    },
  },
};

/** The error responses an operation can give, by code, in the contract's one shape. */
function errors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    byStatus.set(STATUS[code], [...(byStatus.get(STATUS[code]) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: list.join(", "),
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
    ]),
  );
}

const json = (s: unknown) => ({ content: { "application/json": { schema: s } } });
const ok = (description: string) => ({ "200": { description, ...json({ type: "object" }) } });
const device = [{ deviceToken: [] }];
const account = [{ accountToken: [] }];
const either = [{ accountToken: [] }, { deviceToken: [] }];

/** The OpenAPI 3.1 description of the HTTP API (DESIGN.md §3); request bodies come from the zod schemas. */
export const OPENAPI = {
  openapi: "3.1.0",
  info: { title: "DevPocket Sync", version: "1" },
  components: {
    securitySchemes: {
      accountToken: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      deviceToken: {
        type: "http",
        scheme: "bearer",
        description: "dpd_… from device registration",
      },
    },
    schemas: { Error: ErrorBody, Change: schema(Change) },
  },
  paths: {
    "/api/devices/register": {
      post: {
        security: account,
        requestBody: json(schema(RegisterBody)),
        responses: {
          "201": { description: "{device, token}", ...json({ type: "object" }) },
          ...errors("UNAUTHORIZED", "VALIDATION_FAILED", "SYNC_DEVICE_LIMIT_EXCEEDED"),
        },
      },
    },
    "/api/devices": {
      get: {
        security: either,
        responses: { ...ok("{devices: [...]}"), ...errors("UNAUTHORIZED") },
      },
    },
    "/api/devices/{id}": {
      delete: {
        security: either,
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: { "204": { description: "Deleted" }, ...errors("UNAUTHORIZED", "NOT_FOUND") },
      },
    },
    "/api/sync/data": {
      post: {
        security: device,
        requestBody: json({
          type: "object",
          required: ["changes"],
          additionalProperties: false,
          properties: {
            changes: {
              type: "array",
              minItems: 1,
              maxItems: 500,
              items: { $ref: "#/components/schemas/Change" },
            },
          },
        }),
        responses: {
          ...ok("{results: [{change_id, status, version?, conflict_id?, error?}], cursor}"),
          ...errors(
            "UNAUTHORIZED",
            "VALIDATION_FAILED",
            "PAYLOAD_TOO_LARGE",
            "SYNC_SUBSCRIPTION_EXPIRED",
          ),
        },
      },
      get: {
        security: device,
        parameters: [
          { name: "since", in: "query", schema: { type: "string" } },
          { name: "collections", in: "query", schema: { type: "string" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000 } },
        ],
        responses: {
          ...ok("{changes, cursor, has_more}"),
          ...errors("UNAUTHORIZED", "VALIDATION_FAILED", "SYNC_CURSOR_EXPIRED"),
        },
      },
    },
    "/api/sync/stats": {
      get: {
        security: device,
        responses: { ...ok("Counts, devices, conflicts, cursor"), ...errors("UNAUTHORIZED") },
      },
    },
    "/api/sync/conflicts": {
      get: {
        security: device,
        parameters: [{
          name: "status",
          in: "query",
          schema: { type: "string", enum: ["open", "resolved"] },
        }],
        responses: { ...ok("{conflicts: [...]}"), ...errors("UNAUTHORIZED", "VALIDATION_FAILED") },
      },
    },
    "/api/sync/conflicts/{id}/resolve": {
      post: {
        security: device,
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        requestBody: json(schema(ResolveBody)),
        responses: {
          ...ok("The resulting item"),
          ...errors("UNAUTHORIZED", "NOT_FOUND", "VALIDATION_FAILED", "SYNC_CONFLICT_DETECTED"),
        },
      },
    },
    "/api/sync/ws": {
      get: {
        description:
          "WebSocket (DESIGN.md §6): device token as subprotocol `bearer.<token>` or `?token=`",
        responses: { "101": { description: "Switching protocols" }, ...errors("FORBIDDEN") },
      },
    },
    "/health": { get: { responses: ok("Process alive") } },
    "/ready": { get: { responses: { ...ok("Ready"), "503": { description: "Not ready" } } } },
    "/metrics": { get: { responses: { "200": { description: "Prometheus text" } } } },
  },
} as const;

/** `GET /openapi.json`. */
export function openapiRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/openapi.json", (c) => c.json(OPENAPI));
}
