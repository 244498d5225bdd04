import assert from "node:assert/strict";
import { openApiDocument } from "../../routes/openapi.ts";
import { openTestApp } from "../support/app.ts";
import { change } from "../support/changes.ts";
import { assertMatchesDocument, documentedPath } from "../support/openapi_check.ts";
import { connectWs } from "../support/ws_client.ts";

type Operation = {
  operationId: string;
  summary: string;
  security: Record<string, string[]>[];
  requestBody?: { required: boolean };
  parameters?: { name: string; in: string; schema: { pattern?: string } }[];
  responses: Record<string, { headers?: Record<string, unknown> }>;
};

const doc = openApiDocument();
const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods as Record<string, Operation>).map(([method, op]) => ({ path, method, op }))
);

Deno.test("/openapi.json documents exactly the routes the app serves", async () => {
  await using t = await openTestApp("pglite");
  const served = t.app.routes
    .filter((route) => route.method !== "ALL")
    .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
  const documented = operations.map(({ path, method }) => `${method.toUpperCase()} ${path}`);
  assert.deepEqual([...new Set(served)].sort(), documented.sort());
  const res = await t.request("GET", "/openapi.json");
  assert.deepEqual(await res.json(), doc);
});

Deno.test("/openapi.json gives every operation an id, a summary, security and its error statuses", () => {
  const ids = operations.map(({ op }) => op.operationId);
  assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
  for (const { path, method, op } of operations) {
    const where = `${method} ${path}`;
    assert.ok(op.summary, `${where}: summary`);
    assert.ok(Array.isArray(op.security), `${where}: security`);
    const statuses = Object.keys(op.responses);
    assert.ok(statuses.includes("500"), `${where}: 500 (a fault, never an input)`);
    if (!path.startsWith("/api/")) {
      assert.deepEqual(op.security, [], `${where}: public`);
      continue;
    }
    assert.ok(statuses.includes("429"), `${where}: 429`);
    assert.ok(op.responses["429"].headers?.["Retry-After"], `${where}: Retry-After`);
    if (path !== "/api/sync/ws") assert.ok(statuses.includes("401"), `${where}: 401`);
    if (op.requestBody) {
      assert.equal(op.requestBody.required, true, `${where}: body required`);
      assert.ok(statuses.includes("413") && statuses.includes("422"), `${where}: 413, 422`);
    }
    if (method === "post" && path.startsWith("/api/sync/")) {
      assert.ok(statuses.includes("402"), `${where}: 402 on writes`);
    }
  }
  const byId = Object.fromEntries(operations.map(({ op }) => [op.operationId, op]));
  assert.deepEqual(Object.keys(byId.pullChanges.responses).sort(), [
    "200",
    "401",
    "410",
    "422",
    "429",
    "500",
  ]);
  assert.deepEqual(Object.keys(byId.resolveConflict.responses).sort(), [
    "200",
    "401",
    "402",
    "403",
    "404",
    "409",
    "413",
    "422",
    "429",
    "500",
  ]);
  assert.deepEqual(byId.registerDevice.security, [{ accountToken: [] }]);
  assert.deepEqual(byId.listDevices.security, [{ accountToken: [] }, { deviceToken: [] }]);
  assert.deepEqual(byId.pushChanges.security, [{ deviceToken: [] }]);
  const since = byId.pullChanges.parameters!.find((p) => p.name === "since")!;
  assert.equal(
    since.schema.pattern,
    "^(c1\\.[0-9a-z]{1,11}|c2\\.[0-9a-z]{1,11}\\.[0-9a-z]{1,11}\\.[0-9a-f]{16})?$",
  );
  const schemas = doc.components.schemas as unknown as Record<
    string,
    { properties: Record<string, unknown> }
  >;
  assert.equal(
    (schemas.PullResult.properties.cursor as { pattern: string }).pattern,
    "^(c1\\.[0-9a-z]{1,11}|c2\\.[0-9a-z]{1,11}\\.[0-9a-z]{1,11}\\.[0-9a-f]{16})$",
  );
});

Deno.test("every operation answers as the document says, success and errors alike", async () => {
  await using t = await openTestApp("pglite", { maxBodyBytes: 64 * 1024 });
  const base = await t.serve();
  const account = await t.accountToken("alice");
  const a = await t.device("alice", "a");
  const b = await t.device("alice", "b");
  const expired = await t.accountToken("bob", "pro", {
    tierExpiresAt: Math.floor(Date.now() / 1000) - 60,
  });
  const bobDevice = await t.request("POST", "/api/devices/register", {
    token: expired,
    body: { name: "old", platform: "ios" },
  });
  const bob = (await bobDevice.json()).token;
  const strategy = change("settings", "sync", { conflict_strategies: { settings: "manual" } });
  const seen: string[] = [];
  const call = async (method: string, path: string, status: number, options = {}) => {
    const res = await t.request(method, path, options);
    assert.equal(res.status, status, `${method} ${path}: ${await res.clone().text()}`);
    seen.push(`${method.toLowerCase()} ${documentedPath(new URL(path, base).pathname)}`);
    return res;
  };
  await call("POST", "/api/devices/register", 201, {
    token: account,
    body: { name: "c", platform: "ios" },
  });
  await call("POST", "/api/devices/register", 422, { token: account, body: { name: "" } });
  await call("POST", "/api/devices/register", 401, { token: a.token, body: { name: "c" } });
  await call("POST", "/api/devices/register", 413, {
    token: account,
    body: { name: "x".repeat(70_000), platform: "ios" },
  });
  await call("GET", "/api/devices", 200, { token: a.token });
  await call("DELETE", `/api/devices/${crypto.randomUUID()}`, 404, { token: account });
  await call("POST", "/api/sync/data", 200, { token: a.token, body: { changes: [strategy] } });
  await call("POST", "/api/sync/data", 200, {
    token: a.token,
    body: { changes: [change("settings", "ui", { theme: "dark" })] },
  });
  const conflicted = await call("POST", "/api/sync/data", 200, {
    token: b.token,
    body: { changes: [change("settings", "ui", { theme: "light" })] },
  });
  const conflictId = (await conflicted.json()).results[0].conflict_id;
  await call("POST", "/api/sync/data", 402, {
    token: bob,
    body: { changes: [change("settings", "ui", {})] },
  });
  await call("POST", "/api/sync/data", 422, { token: a.token, body: "{not json" });
  await call("GET", "/api/sync/data?since=c1.1", 200, { token: a.token });
  await call("GET", "/api/sync/data?since=bogus", 422, { token: a.token });
  await call("GET", "/api/sync/data", 401);
  await call("GET", "/api/sync/stats", 200, { token: a.token });
  await call("GET", "/api/sync/conflicts?status=open", 200, { token: a.token });
  await call("POST", `/api/sync/conflicts/${conflictId}/resolve`, 200, {
    token: a.token,
    body: { resolution: "remote" },
  });
  await call("POST", `/api/sync/conflicts/${conflictId}/resolve`, 409, {
    token: a.token,
    body: { resolution: "remote" },
  });
  await call("POST", `/api/sync/conflicts/${crypto.randomUUID()}/resolve`, 404, {
    token: a.token,
    body: { resolution: "local" },
  });
  await call("GET", "/api/sync/conflicts?status=resolved", 200, { token: a.token });
  await call("GET", "/api/sync/items/settings/ui/receipts", 200, { token: a.token });
  await call("GET", "/api/sync/items/settings/nothing/receipts", 404, { token: a.token });
  await call("POST", "/api/sync/redact", 200, { token: a.token, body: { literal: "dark" } });
  await call("POST", "/api/sync/redact", 422, { token: a.token, body: { pattern: "(" } });
  await call("POST", "/api/sync/redact", 403, {
    token: a.token,
    body: { literal: "x", collections: ["team_ssh_profiles"] },
  });
  await call("POST", "/api/sync/redact", 402, { token: bob, body: { literal: "x" } });
  await call("GET", "/api/sync/ws", 422);
  await call("DELETE", `/api/devices/${b.id}`, 204, { token: a.token });
  await call("GET", "/health", 200);
  await call("GET", "/ready", 200);
  await call("GET", "/metrics", 200);
  await call("GET", "/openapi.json", 200);
  await call("GET", "/docs", 200);
  await call("GET", "/docs/scalar.js", 200);
  for (
    const path of ["/console", "/console/console.js", "/console/console.css", "/console/icon.svg"]
  ) {
    await call("GET", path, 200);
  }
  // The upgrade itself (101) is seen by a real client.
  await using socket = await connectWs(base, a.token);
  socket.send({ type: "ping" });
  assert.deepEqual(await socket.next(), { type: "pong" });
  seen.push("get /api/sync/ws");

  assert.deepEqual(
    [...new Set(seen)].sort(),
    operations.map(({ path, method }) => `${method} ${path}`).sort(),
    "every documented operation was driven",
  );
});

Deno.test("the document check fails on answers that drift from the document", async () => {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });
  const device = {
    id: crypto.randomUUID(),
    name: "a",
    platform: "ios",
    install_id: null,
    app_version: null,
    created_at: 1,
    last_seen_at: null,
    online: false,
    cursor: "c1.0",
    behind: 0,
  };
  await assertMatchesDocument("GET", "/api/devices", json(200, { devices: [device] }));
  const drifts: [string, string, Response, RegExp][] = [
    ["GET", "/api/devices", json(200, { devices: [{ ...device, extra: 1 }] }), /additional/],
    ["GET", "/api/devices", json(200, { devices: [{ ...device, cursor: "42" }] }), /pattern/],
    ["GET", "/api/devices", json(418, {}), /status not documented/],
    [
      "GET",
      "/api/sync/stats",
      json(401, { error: { code: "FORBIDDEN", message: "", details: {} } }),
      /allowed values/,
    ],
    ["POST", "/health", json(200, { status: "ok" }), /no such operation/],
    [
      "GET",
      "/health",
      new Response("ok", { headers: { "content-type": "text/plain" } }),
      /content-type/,
    ],
    [
      "GET",
      "/api/sync/data",
      json(429, { error: { code: "SYNC_RATE_LIMITED", message: "", details: {} } }),
      /Retry-After/,
    ],
  ];
  for (const [method, path, res, expected] of drifts) {
    await assert.rejects(assertMatchesDocument(method, path, res), expected, `${method} ${path}`);
  }
});

Deno.test("a known path asked with another method answers 405 with Allow, before authentication", async () => {
  await using t = await openTestApp("pglite");
  const cases: [string, string, string][] = [
    ["PUT", "/api/sync/data", "GET, POST, HEAD"],
    ["DELETE", "/health", "GET, HEAD"],
    // `DELETE /api/devices/:id` takes "register" for an id too (and answers 404 to it).
    ["GET", "/api/devices/register", "POST, DELETE"],
    ["PATCH", `/api/devices/${crypto.randomUUID()}`, "DELETE"],
  ];
  for (const [method, path, allow] of cases) {
    const res = await t.request(method, path);
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.headers.get("allow"), allow);
    assert.deepEqual(await res.json(), {
      error: {
        code: "METHOD_NOT_ALLOWED",
        message: `${method} is not allowed here: use ${allow}`,
        details: { allowed: allow.split(", ") },
      },
    });
  }
  assert.equal((await t.request("PUT", "/api/nowhere")).status, 404);
  assert.equal((await t.request("HEAD", "/health")).status, 200);
});
