import { createApp } from "../../routes/app.ts";
import { AccountTokenVerifier, mintAccountToken } from "../../sync/account_tokens.ts";
import { MemoryBus } from "../../sync/bus/memory_bus.ts";
import { inProcessNotifier } from "../../sync/change_notifier.ts";
import { SILENT_LOGGER } from "../../sync/logger.ts";
import { buildServices } from "../../sync/services.ts";
import type { Tier } from "../../sync/tiers.ts";
import { Hub, type HubOptions } from "../../sync/ws/hub.ts";
import { SqlStore } from "../../db/sql_store.ts";
import { type DriverKind, openTestDb, type TestDb } from "./drivers.ts";

export const TEST_SECRET = "test-secret-that-is-at-least-32-characters-long";

/** The real app over a fresh database of either kind, driven with `app.request()`. */
export interface TestApp extends AsyncDisposable {
  db: TestDb;
  bus: MemoryBus;
  hub: Hub;
  /** Serves the app on a real port of 127.0.0.1 (for WebSockets); the base URL, once listening. */
  serve(): Promise<string>;
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown },
  ): Promise<Response>;
  accountToken(userId: string, tier?: Tier, extra?: { tierExpiresAt?: number }): Promise<string>;
  /** Registers a device and returns its token and id. */
  device(userId: string, name?: string, tier?: Tier): Promise<{ id: string; token: string }>;
}

export async function openTestApp(
  kind: DriverKind,
  options: {
    maxBodyBytes?: number;
    hub?: Partial<Omit<HubOptions, "bus" | "store">>;
    /** A database opened (and perhaps configured) by the test; the app disposes of it. */
    db?: TestDb;
  } = {},
): Promise<TestApp> {
  const db = options.db ?? await openTestDb(kind);
  const store = new SqlStore(db.driver);
  const bus = new MemoryBus();
  const services = buildServices(store, inProcessNotifier(bus, () => {}));
  const hub = new Hub({ bus, store, logger: SILENT_LOGGER, ...options.hub });
  const servers: Deno.HttpServer[] = [];
  const app = createApp({
    logger: SILENT_LOGGER,
    accounts: await AccountTokenVerifier.create({ secret: TEST_SECRET, algorithm: "RS256" }),
    maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
    ...services,
    hub,
    readiness: { driver: db.driver, bus, listener: null },
    apiEnabled: true,
  });
  const request: TestApp["request"] = (method, path, { token, body } = {}) =>
    Promise.resolve(app.request(path, {
      method,
      headers: {
        ...(token && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    }));
  const accountToken: TestApp["accountToken"] = (userId, tier = "pro", extra = {}) =>
    mintAccountToken(TEST_SECRET, { userId, tier, expiresInSeconds: 3600, ...extra });
  return {
    db,
    bus,
    hub,
    request,
    serve() {
      const { promise, resolve } = Promise.withResolvers<string>();
      servers.push(Deno.serve({
        port: 0,
        hostname: "127.0.0.1",
        onListen: ({ hostname, port }) => resolve(`http://${hostname}:${port}`),
      }, app.fetch));
      return promise;
    },
    accountToken,
    async device(userId, name = "phone", tier = "pro") {
      const res = await request("POST", "/api/devices/register", {
        token: await accountToken(userId, tier),
        body: { name, platform: "ios" },
      });
      if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
      const body = await res.json();
      return { id: body.device.id, token: body.token };
    },
    async [Symbol.asyncDispose]() {
      await hub.close();
      await Promise.all(servers.map((server) => server.shutdown()));
      await bus.close();
      await db[Symbol.asyncDispose]();
    },
  };
}
