import type { SqlStore } from "../../db/sql_store.ts";
import { loadConfig } from "../../config.ts";
import { type ListenerLike, startService } from "../../service.ts";
import type { Bus } from "../../sync/bus/bus.ts";
import { createLogger, type Logger } from "../../sync/logger.ts";
import {
  ReplicationListener,
  type ReplicationListenerOptions,
} from "../../sync/replication/listener.ts";
import type { Hub } from "../../sync/ws/hub.ts";
import { TEST_SECRET } from "./app.ts";

/** Options of {@link openInstance}. */
export interface InstanceOptions {
  /** The Postgres database (wal_level=logical) every instance of the test shares. */
  databaseUrl: string;
  redisUrl: string;
  /** A Redis Cluster's seed URLs (comma-separated): the cluster bus instead of `redisUrl`. */
  redisClusterUrls?: string;
  /** Slot and publication name; slots are cluster-wide, so one per test. */
  slot: string;
  /** `api` runs no replication listener, like ROLE=api. Default `all`. */
  role?: "all" | "api";
  /** Listener timings; the defaults are short so a takeover takes well under a second. */
  listener?: Partial<Pick<ReplicationListenerOptions, "heartbeatMs" | "retryMs" | "maxBackoffMs">>;
  /** For the app and the listener, as main.ts wires it; errors only by default. */
  logger?: Logger;
  /** More environment variables for loadConfig (e.g. RATE_LIMITS). */
  env?: Record<string, string>;
}

/** One app instance as main.ts wires it for Postgres + Redis, served on 127.0.0.1. */
export interface Instance extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  hub: Hub;
  bus: Bus;
  store: SqlStore;
  /** The running listener; null for `role: "api"` or once stopped or killed. */
  readonly listener: ReplicationListener | null;
  /** Starts a new listener on the same slot (after a stop or a kill); resolves once it decided. */
  startListener(): Promise<ReplicationListener>;
  /** Stops the listener the way shutdown does: ends the stream, releases the holder lock. */
  stopListener(): Promise<void>;
  /**
   * Ends the listener as when its process dies: its way to Redis is cut, its lock
   * session and walsender are terminated from the server side, and only then is it
   * stopped, so it never comes back and nothing of it is left running. Resolves with the number of sessions
   * terminated: the holder's lock session, and its walsender unless the stream already
   * ended on the cut; 0 for a standby.
   */
  killListener(): Promise<number>;
  /** A request over real HTTP. */
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown },
  ): Promise<Response>;
  /** Closes sockets (1012), the server, the listener, the bus and the database pool. */
  stop(): Promise<void>;
}

const QUICK_LISTENER = { heartbeatMs: 500, retryMs: 100, maxBackoffMs: 500 };

/**
 * Builds one full instance: Postgres driver, migrations, store, RedisBus, the WAL notifier
 * (the API publishes nothing itself), hub, replication listener, app, `Deno.serve` on port 0.
 */
export async function openInstance(options: InstanceOptions): Promise<Instance> {
  // Errors only: a 500 in an end-to-end test should say why.
  const logger = options.logger ?? createLogger("error");
  const config = loadConfig({
    DATABASE_URL: options.databaseUrl,
    ...(options.redisClusterUrls
      ? { REDIS_CLUSTER_URLS: options.redisClusterUrls }
      : { REDIS_URL: options.redisUrl }),
    JWT_SECRET: TEST_SECRET,
    REPLICATION_SLOT: options.slot,
    ROLE: options.role ?? "all",
    ...options.env,
  });
  let listener: ReplicationListener | null = null;
  // The publishing side of the current listener, cut when it is killed.
  let outlet: Outlet | null = null;
  // What /ready reports once the listener was stopped or killed: the last one's state.
  let last: ReplicationListener | null = null;
  let bus: Bus | null = null;
  const newListener = () =>
    new ReplicationListener({
      databaseUrl: options.databaseUrl,
      slot: options.slot,
      bus: outlet = new Outlet(bus!),
      logger,
      ...QUICK_LISTENER,
      ...options.listener,
    });
  // The service runs this stand-in; the test starts, stops and kills what stands behind it.
  const controlled = (instanceBus: Bus): ListenerLike => {
    bus = instanceBus;
    return {
      start: async () => {
        listener = last = newListener();
        await listener.start();
      },
      stop: async () => {
        const current = listener;
        listener = null;
        await current?.stop();
      },
      state: () => (listener ?? last!).state(),
    };
  };
  const service = await startService(config, logger, { listener: controlled });
  bus = service.bus;
  const opened: { server?: Deno.HttpServer } = {};
  let stopped: Promise<void> | null = null;
  const stop = () =>
    stopped ??= (async () => {
      await service.hub.close();
      await opened.server?.shutdown();
      await service.close();
    })();

  try {
    const { app, hub, store, driver } = service;
    const listening = Promise.withResolvers<string>();
    opened.server = Deno.serve({
      port: 0,
      hostname: "127.0.0.1",
      onListen: ({ hostname, port }) => listening.resolve(`http://${hostname}:${port}`),
    }, app.fetch);
    const url = await listening.promise;

    const request = requester(url);

    return {
      url,
      hub,
      bus: service.bus,
      store,
      get listener() {
        return listener;
      },
      async startListener() {
        if (listener) throw new Error("startListener: a listener is already running");
        const next = listener = last = newListener();
        await next.start();
        return next;
      },
      async stopListener() {
        const current = listener;
        listener = null;
        await current?.stop();
      },
      async killListener() {
        const current = listener;
        if (!current) return 0;
        listener = null;
        // A dead process publishes nothing more: work the listener still has in flight
        // (a transaction being published) must not reach Redis after this point.
        outlet?.cut();
        let terminated = 0;
        if (current.state().role === "holder") {
          // The holder's sessions: the one holding the advisory lock of this slot, and the
          // walsender streaming it (see slot.ts tryHolderLock for the lock's key).
          const rows = await driver.query<{ done: boolean }>(
            `select pg_terminate_backend(pid) as done from (
               select pid from pg_locks
                where locktype = 'advisory' and granted and objsubid = 2
                  and database = (select oid from pg_database where datname = current_database())
                  and classid = hashtext('devpocket_sync.replication')::oid
                  and objid = hashtext($1)::oid
               union
               select active_pid from pg_replication_slots where slot_name = $1
             ) holder where pid is not null`,
            [options.slot],
          );
          terminated = rows.filter((r) => r.done).length;
        }
        await current.stop();
        return terminated;
      },
      request,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Requests over real HTTP to the server at `baseUrl`, with a bearer token and a JSON body. */
export function requester(baseUrl: string): Instance["request"] {
  return (method, path, { token, body } = {}) =>
    fetch(new URL(path, baseUrl), {
      method,
      headers: {
        ...(token && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}

/**
 * The bus as one listener sees it: publishes pass through to the instance's bus until
 * `cut()`, then fail as they would in a process that died. Subscriptions are not the
 * listener's business and the instance's bus is closed by the instance.
 */
class Outlet implements Bus {
  readonly kind: Bus["kind"];
  #cut = false;

  constructor(readonly inner: Bus) {
    this.kind = inner.kind;
  }

  cut(): void {
    this.#cut = true;
  }

  publish(channel: string, message: string): Promise<void> {
    if (this.#cut) return Promise.reject(new Error("The listener's process is dead"));
    return this.inner.publish(channel, message);
  }

  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResumed?: () => void,
  ): Promise<void> {
    return this.inner.subscribe(channel, onMessage, onResumed);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.inner.unsubscribe(channel);
  }

  ping(): Promise<boolean> {
    return this.#cut ? Promise.resolve(false) : this.inner.ping();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
