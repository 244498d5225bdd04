import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../sync/logger.ts";
import type { Metrics } from "../sync/metrics.ts";
import type { AppEnv } from "./env.ts";

/**
 * Logs and meters every request. The path is logged without its query string, which may
 * hold a WebSocket `?token=`; metrics label the route pattern (`route(c)`), so ids never
 * become label values. Client errors log at info, the rest at debug (5xx are logged by the
 * error mapper with their cause).
 */
export function requestLog(
  logger: Logger,
  metrics: Pick<Metrics, "request">,
  route: (c: Context<AppEnv>) => string,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    // Read before the handler: an upgraded WebSocket's request can no longer be read.
    const requestBytes = declaredLength(c.req.raw.headers) ?? 0;
    await next();
    const ms = performance.now() - start;
    const status = c.res.status;
    metrics.request({ method: c.req.method, route: route(c), status }, ms / 1000, {
      request: requestBytes,
      response: await responseLength(c),
    });
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

/**
 * Bytes of the response body. Bodies without a `Content-Length` (JSON and text built in
 * memory) are read once and given one, so the client gets the length too; event streams,
 * which never end, are not counted.
 */
async function responseLength(c: Context<AppEnv>): Promise<number> {
  const res = c.res;
  const declared = declaredLength(res.headers);
  if (declared !== null) return declared;
  if (!res.body || res.headers.get("content-type")?.startsWith("text/event-stream")) return 0;
  const body = new Uint8Array(await res.arrayBuffer());
  const measured = new Response(body, res);
  measured.headers.set("content-length", String(body.byteLength));
  c.res = measured;
  return body.byteLength;
}

function declaredLength(headers: Headers): number | null {
  const value = Number(headers.get("content-length") ?? NaN);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}
