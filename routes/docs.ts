import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import type { AppEnv } from "./env.ts";

/** Where the page loads the reference's script from: this instance, never a CDN. */
const BUNDLE_PATH = "/docs/scalar.js";

/**
 * `GET /docs`: an interactive reference of `/openapi.json` (Scalar). The page loads only
 * this instance's URLs: the script is `@scalar/api-reference`'s standalone bundle, read from
 * the installed package (Deno's npm cache, or node_modules where one is used) rather than
 * its CDN; vendor fonts and telemetry are off.
 */
export function docsRoutes(): Hono<AppEnv> {
  let bundle: Promise<Uint8Array<ArrayBuffer>> | undefined;
  return new Hono<AppEnv>()
    .get(
      "/docs",
      Scalar({
        url: "/openapi.json",
        cdn: BUNDLE_PATH,
        pageTitle: "DevPocket Sync API",
        withDefaultFonts: false,
        telemetry: false,
        showDeveloperTools: "never",
      }),
    )
    .get(BUNDLE_PATH, async (c) => {
      // Read once, on first use: 4.9 MB that most instances never serve.
      bundle ??= Deno.readFile(
        new URL("./browser/standalone.js", import.meta.resolve("@scalar/api-reference")),
      ).catch((error) => {
        bundle = undefined;
        throw error;
      });
      const bytes = await bundle;
      return c.body(bytes, 200, {
        "content-type": "text/javascript; charset=utf-8",
        "content-length": String(bytes.byteLength),
        "cache-control": "public, max-age=86400",
      });
    });
}
