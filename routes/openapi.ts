import { Hono } from "hono";
import { z } from "zod";
import * as api from "../sync/api_schemas.ts";
import { Change, PushBody } from "../sync/change_schema.ts";
import { type ErrorCode, STATUS } from "../sync/errors.ts";
import { type ApiOperation, type Auth, OPERATIONS } from "./api_operations.ts";
import { ResolveBody } from "./conflicts.ts";
import { RegisterBody } from "./devices.ts";
import { RedactBody } from "../sync/redaction.ts";
import type { AppEnv } from "./env.ts";

type JsonSchema = Record<string, unknown>;

const REQUESTS: Record<string, z.ZodType> = {
  RegisterDeviceRequest: RegisterBody,
  Change,
  PushRequest: PushBody,
  ResolveConflictRequest: ResolveBody,
  RedactRequest: RedactBody,
};

const RESPONSES: Record<string, z.ZodType> = {
  Error: api.ErrorBody,
  Device: api.DeviceView,
  RegisteredDevice: api.RegisteredDevice,
  DeviceList: api.DeviceList,
  ChangeResult: api.ChangeResult,
  PushResult: api.PushResult,
  PulledChange: api.PulledChange,
  PullResult: api.PullResult,
  SyncStats: api.SyncStats,
  Version: api.Version,
  Conflict: api.ConflictView,
  ConflictList: api.ConflictList,
  ItemReceipts: api.ItemReceipts,
  RedactResult: api.RedactResult,
  Health: api.Health,
  Readiness: api.Readiness,
};

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  public: [],
  account: [{ accountToken: [] }],
  device: [{ deviceToken: [] }],
  either: [{ accountToken: [] }, { deviceToken: [] }],
  socket: [{ deviceTokenQuery: [] }],
};

const RATE_LIMIT_HEADERS = {
  "Retry-After": {
    required: true,
    description: "Seconds to wait before retrying",
    schema: { type: "integer", minimum: 0 },
  },
  "RateLimit-Policy": { description: "IETF RateLimit-Policy", schema: { type: "string" } },
  RateLimit: { description: "IETF RateLimit", schema: { type: "string" } },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * The OpenAPI 3.1 document of the HTTP API (DESIGN.md §3). Request and response schemas are
 * generated from the zod schemas the code parses with and the services' answers are typed
 * by; the operations come from `OPERATIONS`.
 */
export function openApiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "DevPocket Sync",
      version: "1",
      description: "Multi-device sync for a terminal app. Every error answers " +
        "`{error: {code, message, details}}`. A known path asked with a method it does not " +
        "serve answers 405 `METHOD_NOT_ALLOWED` with `Allow`.",
    },
    servers: [{ url: "/", description: "This instance" }],
    tags: [
      { name: "devices", description: "Device registration and management" },
      { name: "sync", description: "Push, pull and real time" },
      { name: "conflicts", description: "Manual conflict resolution" },
      { name: "operations", description: "Health, metrics and this document" },
    ],
    paths: paths(OPERATIONS),
    components: {
      securitySchemes: {
        accountToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "Account token (JWT with `sub` = user id and `tier`)",
        },
        deviceToken: {
          type: "http",
          scheme: "bearer",
          description: "Device token (`dpd_…`) from device registration",
        },
        deviceTokenQuery: {
          type: "apiKey",
          in: "query",
          name: "token",
          description: "Device token for the WebSocket, where no header can be set",
        },
      },
      schemas: {
        ...components(REQUESTS, "input"),
        ...components(RESPONSES, "output"),
        OpenApiDocument: { type: "object", description: "An OpenAPI 3.1 document" },
      },
    },
  };
}

/** `GET /openapi.json`. */
export function openapiRoutes(): Hono<AppEnv> {
  const document = openApiDocument();
  return new Hono<AppEnv>().get("/openapi.json", (c) => c.json(document));
}

function paths(operations: ApiOperation[]) {
  const byPath: Record<string, Record<string, unknown>> = {};
  for (const op of operations) (byPath[op.path] ??= {})[op.method] = operation(op);
  return byPath;
}

function operation(op: ApiOperation) {
  const onApi = op.path.startsWith("/api/");
  const errors: ErrorCode[] = [
    ...(op.auth === "public" || op.auth === "socket" ? [] : ["UNAUTHORIZED" as const]),
    ...(op.body ? ["PAYLOAD_TOO_LARGE" as const] : []),
    ...(op.body || op.query ? ["VALIDATION_FAILED" as const] : []),
    ...(op.errors ?? []),
    ...(onApi ? ["SYNC_RATE_LIMITED" as const] : []),
  ];
  const parameters = [
    ...[...op.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      schema: op.params?.[name] ?? { type: "string", format: "uuid" },
    })),
    ...(op.query ? queryParameters(op.query) : []),
  ];
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description && { description: op.description }),
    tags: [op.tag],
    security: SECURITY[op.auth],
    ...(parameters.length > 0 && { parameters }),
    ...(op.body && {
      requestBody: { required: true, content: { "application/json": { schema: ref(op.body) } } },
    }),
    responses: {
      [op.ok.status]: {
        description: op.ok.description,
        ...(op.ok.schema && { content: { "application/json": { schema: ref(op.ok.schema) } } }),
        ...(op.ok.media && { content: { [op.ok.media]: { schema: { type: "string" } } } }),
      },
      ...(op.unavailable && {
        "503": {
          description: "Not ready",
          content: { "application/json": { schema: ref(op.unavailable) } },
        },
      }),
      ...errorResponses(new Set(errors)),
    },
  };
}

/**
 * One response per status, its body restricted to the codes this operation gives. Every
 * operation may also answer 500 `INTERNAL`: a fault (the database gone), never an input.
 */
function errorResponses(codes: Set<ErrorCode>) {
  const byStatus = new Map<number, (ErrorCode | "INTERNAL")[]>();
  for (const code of codes) {
    byStatus.set(STATUS[code], [...(byStatus.get(STATUS[code]) ?? []), code]);
  }
  byStatus.set(500, ["INTERNAL"]);
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [String(status), {
      description: list.join(", "),
      ...(status === 429 && { headers: RATE_LIMIT_HEADERS }),
      content: {
        "application/json": {
          schema: {
            allOf: [ref("Error"), {
              type: "object",
              properties: { error: { type: "object", properties: { code: { enum: list } } } },
            }],
          },
        },
      },
    }]),
  );
}

function queryParameters(query: z.ZodObject) {
  const schema = toJsonSchema(query, "input");
  const properties = schema.properties as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, { description, ...property }]) => ({
    name,
    in: "query",
    required: required.has(name),
    ...(description !== undefined && { description }),
    schema: property,
  }));
}

/** Named zod schemas as components, referring to each other by `$ref`. */
function components(schemas: Record<string, z.ZodType>, io: "input" | "output") {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    io,
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: "any",
    override: ({ zodSchema, jsonSchema }) => {
      // Each change is validated alone (a bad one is `rejected`, not a 422 for the batch),
      // so the push body takes any items; the document names what a client should send.
      if (zodSchema === PushBody.shape.changes.element) Object.assign(jsonSchema, ref("Change"));
    },
  }).schemas;
  const out: Record<string, JsonSchema> = {};
  for (const [id, { $schema: _s, $id: _i, ...schema }] of Object.entries(generated)) {
    out[id] = schema;
  }
  return out;
}

function toJsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return rest;
}
