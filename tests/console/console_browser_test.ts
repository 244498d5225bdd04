/**
 * The web console in a real browser (headless Chromium driven by puppeteer-core) against
 * the real app: it loads, shows a device the test registered, shows a conflict the test
 * made, resolves it with a click, and the resolution reaches another device's client.
 */
import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { memoryStore, SyncClient } from "../../client/mod.ts";
import { openTestApp, type TestApp } from "../support/app.ts";
import { CHROMIUM_ARGS, chromiumPath } from "../support/chromium.ts";
import { withDrivers } from "../support/drivers.ts";
import { eventually } from "../support/eventually.ts";

/** A device name that would run script if the page ever rendered data as HTML. */
const HOSTILE_NAME = `<img src=x onerror="document.title='pwned'">phone`;

async function launch(): Promise<Browser & AsyncDisposable> {
  const userDataDir = await Deno.makeTempDir({ prefix: "console-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: await chromiumPath(),
    args: [...CHROMIUM_ARGS, `--user-data-dir=${userDataDir}`],
  });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    },
  });
}

/** Everything the page complained about: script errors, CSP violations, failed requests. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
  });
  return problems;
}

/** A page expression: the devices panel shows `text`. */
function devicesInclude(text: string): string {
  return `document.querySelector("#devices")?.textContent?.includes(${JSON.stringify(text)})`;
}

async function startClient(t: TestApp, base: string, name: string): Promise<SyncClient> {
  const device = await t.device("alice", name);
  const client = new SyncClient({ baseUrl: base, deviceToken: device.token, store: memoryStore() });
  await client.start();
  return client;
}

withDrivers("console", (_open, kind) => {
  Deno.test({
    name:
      "in Chromium: shows devices, resolves a conflict with a click, and the resolution reaches another device",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const laptop = await startClient(t, base, "laptop");
      const phone = await startClient(t, base, HOSTILE_NAME);
      const clients = [laptop, phone];
      try {
        // A manual conflict: both devices change the AI preferences from version 1.
        laptop.put("settings", "sync", { conflict_strategies: { ai_preferences: "manual" } });
        laptop.put("ai_preferences", "main", { provider: "openai" });
        await laptop.flush();
        await eventually(
          () => phone.get("ai_preferences", "main") !== undefined,
          5_000,
          "prefs on phone",
        );
        laptop.put("ai_preferences", "main", { provider: "anthropic" });
        await laptop.flush();
        phone.put("ai_preferences", "main", { provider: "local" });
        await phone.flush();
        const [conflict] = await phone.conflicts("open");
        assert.ok(conflict, "the test made a conflict");

        await using browser = await launch();
        const page = await browser.newPage();
        const problems = watchProblems(page);
        await page.goto(`${base}/console`);
        const accountToken = await t.accountToken("alice");
        await page.type("#token", accountToken);
        await page.click("#login button[type=submit]");

        // The devices, names shown as text: the hostile one never becomes markup.
        await page.waitForFunction(devicesInclude(HOSTILE_NAME), { timeout: 10_000 });
        assert.equal(await page.$("#devices img"), null);
        assert.notEqual(await page.title(), "pwned");
        const rows = await page.$$eval(
          "#devices tbody tr",
          (trs) => trs.map((tr) => tr.textContent),
        );
        assert.ok(
          rows.some((r) => r?.startsWith("laptop") && r.includes("online")),
          rows.join("\n"),
        );
        assert.ok(
          rows.some((r) => r?.includes("(this console)")),
          "the console is a device of its own",
        );

        // The conflict, side by side.
        const card = `[data-conflict="${conflict.id}"]`;
        await page.waitForSelector(card, { timeout: 10_000 });
        const sides = await page.$$eval(
          `${card} .side pre`,
          (pres) => pres.map((p) => p.textContent),
        );
        assert.deepEqual(sides.map((s) => JSON.parse(s!)), [{ provider: "local" }, {
          provider: "anthropic",
        }]);
        assert.equal(await page.$eval("#open-conflicts", (dd) => dd.textContent), "1");

        // Live: a device that connects now appears without a reload.
        const tablet = await startClient(t, base, "tablet");
        clients.push(tablet);
        await page.waitForFunction(devicesInclude("tablet"), { timeout: 10_000 });

        await page.click(`${card} [data-resolve="local"]`);
        // The resolution reaches the laptop, which held the other side, through its socket.
        await eventually(
          () =>
            (laptop.get("ai_preferences", "main")?.data as { provider?: string })?.provider ===
              "local",
          10_000,
          "the resolution on the laptop",
        );
        await page.waitForSelector("#no-conflicts", { timeout: 10_000 });
        assert.deepEqual(await laptop.conflicts("open"), []);

        // The token is kept for this tab only; the page stored nothing else of it.
        const storage = await page.evaluate(() => ({
          session: Object.values(sessionStorage),
          local: Object.entries(localStorage),
        }));
        assert.deepEqual(storage.session, [accountToken]);
        assert.equal(storage.local.length, 1);
        assert.match(storage.local[0][1], /^console-[0-9a-f-]{36}$/);
        assert.deepEqual(problems, []);
      } finally {
        await Promise.all(clients.map((c) => c.stop()));
      }
    },
  });
});

Deno.test("in Chromium: indexedDbStore keeps the queue, items and cursor across a page reload", async () => {
  const bundle = await Deno.makeTempFile({ suffix: ".js" });
  const build = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--platform",
      "browser",
      "--format",
      "esm",
      "client/stores/indexed_db_store.ts",
      "-o",
      bundle,
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    stderr: "piped",
  }).output();
  assert.ok(build.success, new TextDecoder().decode(build.stderr));
  const script = await Deno.readTextFile(bundle);
  await Deno.remove(bundle);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/store.js"
        ? new Response(script, { headers: { "content-type": "text/javascript" } })
        : new Response("<!doctype html><title>store</title>", {
          headers: { "content-type": "text/html" },
        }),
  );
  try {
    await using browser = await launch();
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`http://127.0.0.1:${server.addr.port}/`);
    await page.evaluate(async () => {
      const { indexedDbStore } = await import("/store.js");
      const store = indexedDbStore("devpocket-test");
      const item = (id: string, v: number) => ({
        collection: "settings",
        id,
        data: { v },
        deleted: false,
        modified_at: 1,
        base: v,
        server: { version: v, data: { v }, deleted: false, modified_at: 1 },
      });
      const change = (seq: number) => ({
        seq,
        change_id: crypto.randomUUID(),
        collection: "settings",
        id: `i${seq}`,
        op: "upsert",
        data: { seq },
        modified_at: seq,
      });
      // Not awaited one by one, before the database is even open: they land in call order.
      await Promise.all([
        store.write({ putItems: [item("a", 9), item("b", 1)], enqueue: [change(2), change(1)] }),
        store.write({ putItems: [item("a", 1)] }),
      ]);
      await store.write({
        removeItems: [{ collection: "settings", id: "b" }],
        dequeue: [1],
        enqueue: [change(3)],
        cursor: "c1.7",
      });
      await store.close();
    });
    await page.reload();
    const loaded = await page.evaluate(async () => {
      const { indexedDbStore } = await import("/store.js");
      const store = indexedDbStore("devpocket-test");
      const state = await store.load();
      await store.write({ clearItems: true });
      const cleared = await store.load();
      await store.close();
      return {
        items: state.items.map((i: { id: string; data: unknown }) => [i.id, i.data]),
        queue: state.queue.map((c: { seq: number }) => c.seq),
        cursor: state.cursor,
        afterClear: [cleared.items.length, cleared.queue.length],
      };
    });
    assert.deepEqual(loaded, {
      items: [["a", { v: 1 }]],
      queue: [2, 3],
      cursor: "c1.7",
      afterClear: [0, 2],
    });
    assert.deepEqual(problems, []);
  } finally {
    await server.shutdown();
  }
});
