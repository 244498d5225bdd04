import { Hono } from "hono";
import type { ReplicationListener } from "../sync/replication/listener.ts";
import { FAULT_KINDS } from "../sync/replication/replication_error.ts";
import type { Hub } from "../sync/ws/hub.ts";
import type { AppEnv } from "./env.ts";
import type { RequestCounters } from "./request_log.ts";

/** What `/metrics` reports on. */
export interface MetricSources {
  hub: Pick<Hub, "stats"> | null;
  listener: Pick<ReplicationListener, "state"> | null;
  requests: RequestCounters;
}

const ROLES = ["holder", "standby", "stopped"] as const;

/** `GET /metrics`: Prometheus text exposition of sockets, replication role and lag, memory. */
export function metricsRoutes(sources: MetricSources): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/metrics", (c) => {
    const lines: string[] = [];
    const gauge = (name: string, help: string, samples: [labels: string, value: number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    if (sources.hub) {
      const { sockets, users } = sources.hub.stats();
      gauge("devpocket_ws_sockets", "Open WebSocket connections on this instance.", [[
        "",
        sockets,
      ]]);
      gauge("devpocket_ws_users", "Users with at least one socket on this instance.", [[
        "",
        users,
      ]]);
    }
    const state = sources.listener?.state();
    if (state) {
      gauge(
        "devpocket_replication_role",
        "1 for this instance's replication role.",
        ROLES.map((role) => [`{role="${role}"}`, state.role === role ? 1 : 0]),
      );
      gauge("devpocket_replication_lag_bytes", "WAL bytes the slot is behind.", [[
        "",
        state.lagBytes ?? 0,
      ]]);
      gauge("devpocket_replication_lag_seconds", "Seconds the published events are behind.", [[
        "",
        state.lagSeconds ?? 0,
      ]]);
      gauge("devpocket_replication_slot_lost", "1 when the slot's WAL is lost.", [[
        "",
        state.walStatus === "lost" ? 1 : 0,
      ]]);
      gauge(
        "devpocket_replication_fault",
        "1 for the fault that stops every hint (see /ready), by kind.",
        FAULT_KINDS.map((kind) => [`{kind="${kind}"}`, state.fault?.kind === kind ? 1 : 0]),
      );
    }
    lines.push(...sources.requests.render());
    const memory = Deno.memoryUsage();
    gauge("devpocket_process_rss_bytes", "Resident memory of the process.", [["", memory.rss]]);
    gauge("devpocket_process_heap_used_bytes", "V8 heap in use.", [["", memory.heapUsed]]);
    return c.text(lines.join("\n") + "\n", 200, { "content-type": "text/plain; version=0.0.4" });
  });
}
