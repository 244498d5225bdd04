import { Hono } from "hono";
import type { AppEnv } from "./env.ts";

const dir = new URL("../console/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, dir));

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
 * from console/app.ts on the client library by `deno task build-console`), read once at
 * start-up.
 */
export function consoleRoutes(): Hono<AppEnv> {
  const files = {
    page: read("index.html"),
    script: read("console.js"),
    style: read("console.css"),
    icon: read("icon.svg"),
  };
  const serve = (body: string, type: string) => () =>
    new Response(body, { headers: { ...HEADERS, "content-type": type } });
  return new Hono<AppEnv>()
    .get("/", serve(files.page, "text/html; charset=utf-8"))
    .get("/console.js", serve(files.script, "text/javascript; charset=utf-8"))
    .get("/console.css", serve(files.style, "text/css; charset=utf-8"))
    .get("/icon.svg", serve(files.icon, "image/svg+xml"));
}
