import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";

Deno.test("GET /console serves the page, its script and style with a strict CSP and no inline script", async () => {
  await using t = await openTestApp("pglite");
  const page = await t.request("GET", "/console");
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = page.headers.get("content-security-policy")!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  const html = await page.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "every script is a file");
  assert.doesNotMatch(html, /\son[a-z]+=/i, "no inline handlers");
  assert.match(html, /<script type="module" src="\/console\/console.js"><\/script>/);

  const script = await t.request("GET", "/console/console.js");
  assert.equal(script.status, 200);
  assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.doesNotMatch(
    await script.text(),
    /innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
  );
  const style = await t.request("GET", "/console/console.css");
  assert.equal(style.headers.get("content-type"), "text/css; charset=utf-8");
  await style.body?.cancel();
  const missing = await t.request("GET", "/console/other.js");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("console/console.js is the current build of console/app.ts (run `deno task build-console`)", async () => {
  const out = await Deno.makeTempFile({ suffix: ".js" });
  try {
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "browser", "console/app.ts", "-o", out],
      // The bundle names its modules relative to the working directory, as the task does.
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    const committed = await Deno.readTextFile(new URL("../../console/console.js", import.meta.url));
    assert.equal(
      await Deno.readTextFile(out),
      committed,
      "console/console.js is stale: run `deno task build-console`",
    );
  } finally {
    await Deno.remove(out);
  }
});
