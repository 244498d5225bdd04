import { Hono } from "hono";
import type { Metrics } from "../sync/metrics.ts";
import type { AppEnv } from "./env.ts";

/** `GET /metrics`: the Prometheus text exposition of this instance's registry. */
export function metricsRoutes(metrics: Pick<Metrics, "registry">): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/metrics", async (c) => {
    const text = await metrics.registry.metrics();
    return c.body(text, 200, { "content-type": metrics.registry.contentType });
  });
}
