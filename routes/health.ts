import { Hono } from "hono";
import type { Driver } from "../db/driver.ts";
import type { Health, Readiness as ReadinessBody } from "../sync/api_schemas.ts";
import type { Bus } from "../sync/bus/bus.ts";
import type { ReplicationListener } from "../sync/replication/listener.ts";
import type { AppEnv } from "./env.ts";

/** What `/ready` looks at. */
export interface Readiness {
  driver: Pick<Driver, "query" | "kind">;
  bus: Pick<Bus, "ping" | "kind">;
  listener: Pick<ReplicationListener, "state"> | null;
}

/**
 * `/health`: the process serves requests (no I/O, for liveness probes).
 * `/ready`: Postgres answers, the bus answers, and the replication listener (where this
 * instance runs one) holds or stands by for a slot that is not lost, and reports no fault
 * (a slot dropped, misconfigured or not permitted: no hint reaches anyone), which it names.
 */
export function healthRoutes(readiness: Readiness): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/health", (c) => c.json<Health>({ status: "ok" }))
    .get("/ready", async (c) => {
      const database = await readiness.driver.query("select 1").then(() => true, () => false);
      const bus = await readiness.bus.ping().catch(() => false);
      const listener = readiness.listener?.state() ?? null;
      const listenerOk = !listener ||
        (listener.role !== "stopped" && listener.walStatus !== "lost" && listener.fault === null);
      const ready = database && bus && listenerOk;
      return c.json<ReadinessBody>({
        status: ready ? "ready" : "not_ready",
        database: { ok: database, kind: readiness.driver.kind },
        bus: { ok: bus, kind: readiness.bus.kind },
        listener: listener &&
          {
            ok: listenerOk,
            role: listener.role,
            slot: listener.slot,
            wal_status: listener.walStatus,
            lag_bytes: listener.lagBytes,
            lag_seconds: listener.lagSeconds,
            fault: listener.fault,
          },
      }, ready ? 200 : 503);
    });
}
