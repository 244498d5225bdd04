import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";

Deno.test("GET /docs renders the API reference from this instance's URLs only", async () => {
  await using t = await openTestApp("pglite");
  const page = await t.request("GET", "/docs");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  const html = await page.text();
  assert.doesNotMatch(html, /(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i, "no absolute or CDN URL");
  const urls = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]);
  assert.deepEqual(urls, ["/docs/scalar.js"]);
  assert.match(html, /"url": "\/openapi\.json"/);
  assert.match(html, /"withDefaultFonts": false/);
  assert.match(html, /"telemetry": false/);

  const script = await t.request("GET", urls[0]);
  assert.equal(script.status, 200);
  assert.match(script.headers.get("content-type")!, /^text\/javascript/);
  const body = await script.text();
  assert.equal(Number(script.headers.get("content-length")), new TextEncoder().encode(body).length);
  assert.ok(body.length > 1_000_000, `the standalone bundle, got ${body.length} bytes`);
  assert.match(body, /createApiReference/);
});
