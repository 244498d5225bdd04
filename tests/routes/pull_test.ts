import assert from "node:assert/strict";
import { openTestApp } from "../support/app.ts";
import { withDrivers } from "../support/drivers.ts";
import { change, command } from "../support/changes.ts";

withDrivers("pull", (_open, kind) => {
  Deno.test({
    name: "pages in sequence order with has_more, and each page's cursor resumes the next",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const changes = Array.from({ length: 25 }, (_, i) => command(`echo ${i}`));
      const pushed =
        await (await t.request("POST", "/api/sync/data", { token: d.token, body: { changes } }))
          .json();
      const seen: string[] = [];
      let cursor = "";
      let pages = 0;
      for (;;) {
        const res = await t.request(
          "GET",
          `/api/sync/data?limit=10${cursor ? `&since=${cursor}` : ""}`,
          {
            token: d.token,
          },
        );
        assert.equal(res.status, 200);
        const page = await res.json();
        pages++;
        seen.push(...page.changes.map((c: { data: { command: string } }) => c.data.command));
        assert.equal(page.cursor, page.changes.at(-1)?.cursor ?? cursor);
        cursor = page.cursor;
        if (!page.has_more) break;
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, changes.map((c) => c.data?.command));
      assert.equal(cursor, pushed.cursor);
      const empty =
        await (await t.request("GET", `/api/sync/data?since=${cursor}`, { token: d.token })).json();
      assert.deepEqual([empty.changes, empty.cursor, empty.has_more], [[], cursor, false]);
    },
  });

  Deno.test({
    name: "an item changed twice appears once, at its latest version and position",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const send = (changes: unknown[]) =>
        t.request("POST", "/api/sync/data", { token: d.token, body: { changes } });
      await send([
        change("settings", "ui", { theme: "dark" }),
        change("settings", "terminal", { font: "a" }),
      ]);
      await send([change("settings", "ui", { theme: "light" }, { base_version: 1 })]);
      const page = await (await t.request("GET", "/api/sync/data", { token: d.token })).json();
      assert.deepEqual(
        page.changes.map((c: { id: string; version: number }) => [c.id, c.version]),
        [
          ["terminal", 1],
          ["ui", 2],
        ],
      );
    },
  });

  Deno.test({
    name: "collections= narrows the pull; unknown collections and foreign cursors are 422",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      await t.request("POST", "/api/sync/data", {
        token: d.token,
        body: {
          changes: [
            command("ls"),
            change("settings", "ui", { a: 1 }),
            change("ai_preferences", "x", { provider: "p" }),
          ],
        },
      });
      const page =
        await (await t.request("GET", "/api/sync/data?collections=settings,ai_preferences", {
          token: d.token,
        })).json();
      assert.deepEqual(page.changes.map((c: { collection: string }) => c.collection), [
        "settings",
        "ai_preferences",
      ]);
      for (
        const query of [
          "collections=commands,passwords",
          "since=12345",
          "since=c1.!!",
          "limit=0",
          "limit=1001",
          "foo=1",
        ]
      ) {
        const res = await t.request("GET", `/api/sync/data?${query}`, { token: d.token });
        assert.equal(res.status, 422, query);
        assert.equal((await res.json()).error.code, "VALIDATION_FAILED");
      }
    },
  });

  Deno.test({
    name: "a since past the head was never handed out: 422, at the head: 200 with nothing new",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const fresh = await t.request("GET", "/api/sync/data?since=c1.1", { token: d.token });
      assert.equal(fresh.status, 422);
      const pushed = await (await t.request("POST", "/api/sync/data", {
        token: d.token,
        body: { changes: [command("ls"), command("pwd")] },
      })).json();
      assert.equal(pushed.cursor, "c1.2");
      for (const since of ["c1.3", "c1.zz", "c1.zzzzzzzzzzz", "c1.", "c2.1", "c1.-1", "c1.2x!"]) {
        const res = await t.request("GET", `/api/sync/data?since=${since}`, { token: d.token });
        assert.equal(res.status, 422, since);
        const json = await res.json();
        assert.equal(json.error.code, "VALIDATION_FAILED");
        assert.deepEqual(Object.keys(json.error.details.fields), ["since"]);
      }
      const atHead = await t.request("GET", "/api/sync/data?since=c1.2", { token: d.token });
      assert.equal(atHead.status, 200);
      assert.deepEqual(await atHead.json(), { changes: [], cursor: "c1.2", has_more: false });
    },
  });

  Deno.test({
    name: "a user never sees another user's items",
    fn: async () => {
      await using t = await openTestApp(kind);
      const alice = await t.device("alice");
      const bob = await t.device("bob");
      await t.request("POST", "/api/sync/data", {
        token: alice.token,
        body: { changes: [change("settings", "ui", { a: 1 })] },
      });
      const same = await t.request("POST", "/api/sync/data", {
        token: bob.token,
        body: { changes: [change("settings", "ui", { b: 2 })] },
      });
      assert.equal((await same.json()).results[0].version, 1);
      const page = await (await t.request("GET", "/api/sync/data", { token: bob.token })).json();
      assert.deepEqual(page.changes.map((c: { data: unknown }) => c.data), [{ b: 2 }]);
    },
  });

  Deno.test({
    name:
      "selective sync: collections outside the user's list are refused with FORBIDDEN and left out of pulls",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const send = async (changes: unknown[]) =>
        await (await t.request("POST", "/api/sync/data", { token: d.token, body: { changes } }))
          .json();
      await send([command("ls")]);
      await send([change("settings", "sync", { collections: ["settings", "ssh_profiles"] })]);
      const res = await send([
        command("pwd"),
        change("ssh_profiles", "p", { name: "p", host: "h", username: "u" }),
      ]);
      assert.deepEqual(
        res.results.map((r: { status: string; error?: { code: string } }) =>
          r.error?.code ?? r.status
        ),
        [
          "FORBIDDEN",
          "applied",
        ],
      );
      const page = await (await t.request("GET", "/api/sync/data", { token: d.token })).json();
      assert.deepEqual(page.changes.map((c: { collection: string }) => c.collection), [
        "settings",
        "ssh_profiles",
      ]);
    },
  });

  Deno.test({
    name: "a pull's Content-Length counts its bytes over HTTP, ASCII or not",
    fn: async () => {
      await using t = await openTestApp(kind);
      const base = await t.serve();
      const pull = async (token: string) => {
        const res = await fetch(`${base}/api/sync/data`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const bytes = new Uint8Array(await res.arrayBuffer());
        assert.equal(res.headers.get("content-length"), String(bytes.length));
        return JSON.parse(new TextDecoder().decode(bytes));
      };
      for (const text of ["ls -la", "echo 'ü 日本 🚀' \u2028"]) {
        const d = await t.device(`user-${text.length}`);
        await t.request("POST", "/api/sync/data", {
          token: d.token,
          body: { changes: [command(text)] },
        });
        assert.equal((await pull(d.token)).changes[0].data.command, text);
      }
    },
  });
});
