import type { MiddlewareHandler } from "hono";
import type { Logger } from "../sync/logger.ts";
import type { AppEnv } from "./env.ts";

/** Requests served, by method, route pattern and status, for `/metrics`. */
export class RequestCounters {
  readonly #counts = new Map<string, { labels: string; count: number; seconds: number }>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = `{method="${method}",route="${route}",status="${status}"}`;
    const entry = this.#counts.get(labels) ?? { labels, count: 0, seconds: 0 };
    entry.count++;
    entry.seconds += seconds;
    this.#counts.set(labels, entry);
  }

  /** Prometheus text lines: request count and total seconds per label set. */
  render(): string[] {
    const entries = [...this.#counts.values()];
    return [
      "# HELP devpocket_http_requests_total HTTP requests served.",
      "# TYPE devpocket_http_requests_total counter",
      ...entries.map((e) => `devpocket_http_requests_total${e.labels} ${e.count}`),
      "# HELP devpocket_http_request_seconds_total Time spent serving HTTP requests.",
      "# TYPE devpocket_http_request_seconds_total counter",
      ...entries.map((e) =>
        `devpocket_http_request_seconds_total${e.labels} ${e.seconds.toFixed(6)}`
      ),
    ];
  }
}

/**
 * Logs and counts every request. The path is logged without its query string, which may
 * hold a WebSocket `?token=`; routes are counted by pattern, so ids do not explode the
 * label set. Client errors log at info, the rest at debug (5xx are logged by the error
 * mapper with their cause).
 */
export function requestLog(logger: Logger, counters: RequestCounters): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const ms = performance.now() - start;
    const status = c.res.status;
    counters.observe(c.req.method, c.req.routePath, status, ms / 1000);
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round(ms * 10) / 10,
      ...(c.get("account") && { user_id: c.get("account").userId }),
    };
    if (status >= 400 && status < 500) logger.info("Request refused", fields);
    else logger.debug("Request", fields);
  };
}
