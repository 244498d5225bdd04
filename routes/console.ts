import { Hono } from "hono";
// Imported, not read: `deno task start` may read only ./data, and `deno compile` carries them.
import script from "../console/console.js" with { type: "text" };
import style from "../console/console.css" with { type: "text" };
import icon from "../console/icon.svg" with { type: "text" };
import page from "../console/index.html" with { type: "text" };
import type { AppEnv } from "./env.ts";

/**
 * The page may load its own script and style and talk to this origin, nothing else: no
 * inline script, no framing, no form posting elsewhere, no referrer.
 */
const HEADERS = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/**
 * `/console`: the web console, a static page and its bundle (console/console.js, built
 * from console/app.ts on the client library by `deno task build-console`).
 */
export function consoleRoutes(): Hono<AppEnv> {
  const serve = (body: string, type: string) => () =>
    new Response(body, { headers: { ...HEADERS, "content-type": type } });
  return new Hono<AppEnv>()
    .get("/", serve(page, "text/html; charset=utf-8"))
    .get("/console.js", serve(script, "text/javascript; charset=utf-8"))
    .get("/console.css", serve(style, "text/css; charset=utf-8"))
    .get("/icon.svg", serve(icon, "image/svg+xml"));
}
