import type { Hono } from "hono";
import { createApp } from "../../routes/app.ts";
import type { RateLimiting } from "../../routes/rate_limit.ts";
import type { AppEnv } from "../../routes/env.ts";
import { AccountTokenVerifier, mintAccountToken } from "../../sync/account_tokens.ts";
import { MemoryBus } from "../../sync/bus/memory_bus.ts";
import { MeteredBus } from "../../sync/bus/metered_bus.ts";
import { withHeadTracking } from "../../sync/cache/head_tracking_bus.ts";
import type { SyncCache } from "../../sync/cache/sync_cache.ts";
import { inProcessNotifier } from "../../sync/change_notifier.ts";
import { type Logger, SILENT_LOGGER } from "../../sync/logger.ts";
import { Metrics } from "../../sync/metrics.ts";
import { buildServices } from "../../sync/services.ts";
import type { Tier } from "../../sync/tiers.ts";
import { Hub, type HubOptions } from "../../sync/ws/hub.ts";
import { SqlStore } from "../../db/sql_store.ts";
import { type DriverKind, openTestDb, type TestDb } from "./drivers.ts";
import { assertMatchesDocument } from "./openapi_check.ts";

/** Claims of a test account token beyond the user and the tier. */
export type AccountTokenExtras = Pick<
  Parameters<typeof mintAccountToken>[1],
  "issuedAt" | "tierExpiresAt" | "teamId" | "teamRole"
>;

export const TEST_SECRET = "test-secret-that-is-at-least-32-characters-long";

/** The real app over a fresh database of either kind, driven with `app.request()`. */
export interface TestApp extends AsyncDisposable {
  app: Hono<AppEnv>;
  db: TestDb;
  bus: MemoryBus;
  hub: Hub;
  metrics: Metrics;
  /**
   * `app.request()`; every answer is checked against `/openapi.json` first (a drift from the
   * document fails the test).
   */
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Serves the app on a real port of 127.0.0.1 (for WebSockets); the base URL, once listening. */
  serve(): Promise<string>;

  /** An account token (HS256, an hour long); `extra` sets `iat`, the tier's expiry, the team. */
  accountToken(userId: string, tier?: Tier, extra?: AccountTokenExtras): Promise<string>;
  /** Registers a device (`extra`: the account token's team, …) and returns its token and id. */
  device(
    userId: string,
    name?: string,
    tier?: Tier,
    extra?: AccountTokenExtras,
  ): Promise<{ id: string; token: string }>;
}

export async function openTestApp(
  kind: DriverKind,
  options: {
    maxBodyBytes?: number;
    hub?: Partial<Omit<HubOptions, "bus" | "store">>;
    /** Where the app, the hub and the services log; silent by default. */
    logger?: Logger;
    /** Rate limits as service.ts wires them; none by default. */
    rateLimiting?: RateLimiting;
    /** The services' clock (tier expiry, timestamps); account tokens still go by real time. */
    clock?: () => number;
    /** A database opened (and perhaps configured) by the test; the app disposes of it. */
    db?: TestDb;
    /** The head and stats cache, wired as service.ts does; none by default. */
    cache?: SyncCache;
  } = {},
): Promise<TestApp> {
  const db = options.db ?? await openTestDb(kind);
  const store = new SqlStore(db.driver);
  const bus = new MemoryBus();
  const metrics = new Metrics();
  const cache = options.cache ?? null;
  const logger = options.logger ?? SILENT_LOGGER;
  const metered = withHeadTracking(new MeteredBus(bus, metrics), cache, () => {});
  const services = buildServices(store, inProcessNotifier(metered, () => {}), {
    clock: options.clock,
    cache,
    metrics,
    logger,
    // As service.ts: the embedded database has one process, which makes every change.
    soleWriter: kind === "pglite",
  });
  const hub = new Hub({ bus: metered, store, cache, logger, metrics, ...options.hub });
  metrics.observe({ hub });
  const servers: Deno.HttpServer[] = [];
  const app = createApp({
    logger,
    accounts: await AccountTokenVerifier.create({ secret: TEST_SECRET, algorithm: "RS256" }),
    maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
    ...services,
    hub,
    readiness: { driver: db.driver, bus, listener: null },
    metrics,
    apiEnabled: true,
    rateLimiting: options.rateLimiting,
  });
  const request: TestApp["request"] = async (method, path, { token, body, headers } = {}) => {
    const res = await app.request(path, {
      method,
      headers: {
        ...headers,
        ...(token && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    await assertMatchesDocument(method, path, res.clone());
    return res;
  };
  const accountToken: TestApp["accountToken"] = (userId, tier = "pro", extra = {}) =>
    mintAccountToken(TEST_SECRET, { userId, tier, expiresInSeconds: 3600, ...extra });
  return {
    app,
    db,
    bus,
    hub,
    metrics,
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
    async device(userId, name = "phone", tier = "pro", extra = {}) {
      const res = await request("POST", "/api/devices/register", {
        token: await accountToken(userId, tier, extra),
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
