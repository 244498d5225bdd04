import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { chooseEncoding, COMPRESS_MIN_BYTES } from "../../routes/compress.ts";
import { openTestApp } from "../support/app.ts";
import { command } from "../support/changes.ts";
import { withDrivers } from "../support/drivers.ts";

withDrivers("compression", (_open, kind) => {
  Deno.test({
    name: "a pull is gzip- or brotli-encoded as accepted and decodes to the plain answer",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const changes = Array.from({ length: 40 }, (_, i) => command(`make target-${i}`));
      await t.request("POST", "/api/sync/data", { token: d.token, body: { changes } });
      const pull = (headers: Record<string, string>) =>
        t.request("GET", "/api/sync/data", { token: d.token, headers });

      const plain = await pull({});
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.get("content-encoding"), null);
      assert.equal(plain.headers.get("vary"), "Accept-Encoding");
      const plainText = await plain.text();
      assert.equal(JSON.parse(plainText).changes.length, 40);
      assert.ok(new TextEncoder().encode(plainText).length >= COMPRESS_MIN_BYTES);

      const gzipped = await pull({ "accept-encoding": "gzip" });
      assert.equal(gzipped.status, 200);
      assert.equal(gzipped.headers.get("content-encoding"), "gzip");
      const gzipBytes = new Uint8Array(await gzipped.arrayBuffer());
      assert.equal(Number(gzipped.headers.get("content-length")), gzipBytes.length);
      assert.ok(gzipBytes.length < plainText.length / 2);
      assert.equal(new TextDecoder().decode(gunzipSync(gzipBytes)), plainText);

      const brotli = await pull({ "accept-encoding": "gzip, br" });
      assert.equal(brotli.headers.get("content-encoding"), "br");
      const brText = await new Response(
        brotli.body!.pipeThrough(new DecompressionStream("brotli" as CompressionFormat)),
      ).text();
      assert.equal(brText, plainText);
    },
  });

  Deno.test({
    name: "small answers, WebSocket upgrades and unaccepted encodings stay plain",
    fn: async () => {
      await using t = await openTestApp(kind);
      const d = await t.device("alice");
      const stats = await t.request("GET", "/api/sync/stats", {
        token: d.token,
        headers: { "accept-encoding": "gzip, br" },
      });
      assert.equal(stats.status, 200);
      assert.equal(stats.headers.get("content-encoding"), null);
      const body = await stats.text();
      assert.ok(body.length < COMPRESS_MIN_BYTES);
      assert.equal(Number(stats.headers.get("content-length")), body.length);

      const identity = await t.request("GET", "/api/sync/data", {
        token: d.token,
        headers: { "accept-encoding": "identity, gzip;q=0" },
      });
      assert.equal(identity.headers.get("content-encoding"), null);
      await identity.body?.cancel();

      // A header no client should send: q-values that are not numbers, or out of range.
      const garbled = await t.request("GET", "/api/sync/data", {
        token: d.token,
        headers: { "accept-encoding": ";;;,,, br;q=nan, gzip;q=-1, *;q=1e999" },
      });
      assert.equal(garbled.status, 200);
      assert.equal(garbled.headers.get("content-encoding"), null);
      assert.deepEqual(JSON.parse(await garbled.text()).changes, []);

      // A raw handshake, to offer encodings: the 101 must come back untouched.
      const { hostname, port } = new URL(await t.serve());
      using conn = await Deno.connect({ hostname, port: Number(port) });
      await conn.write(new TextEncoder().encode(
        [
          `GET /api/sync/ws?token=${d.token} HTTP/1.1`,
          `Host: ${hostname}:${port}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          "Accept-Encoding: gzip, br",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Version: 13",
        ].join("\r\n") + "\r\n\r\n",
      ));
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const chunk = new Uint8Array(4096);
        const n = await conn.read(chunk);
        if (n === null) break;
        head += new TextDecoder().decode(chunk.subarray(0, n));
      }
      const [status, ...fields] = head.split("\r\n\r\n")[0].split("\r\n");
      assert.match(status, /^HTTP\/1\.1 101 /);
      assert.ok(!fields.some((f) => /^content-encoding:/i.test(f)), head);
    },
  });
});

Deno.test("chooseEncoding() follows the q-values, brotli on a tie, nothing for identity", () => {
  assert.equal(chooseEncoding(undefined), null);
  assert.equal(chooseEncoding("identity"), null);
  assert.equal(chooseEncoding("gzip, deflate, br"), "br");
  assert.equal(chooseEncoding("gzip, deflate"), "gzip");
  assert.equal(chooseEncoding("br"), "br");
  assert.equal(chooseEncoding("gzip;q=0.2, br;q=0.8"), "br");
  assert.equal(chooseEncoding("*"), "br");
  assert.equal(chooseEncoding("*;q=0.5, gzip"), "gzip");
  assert.equal(chooseEncoding("br;q=0.5, gzip;q=0.9"), "gzip");
  assert.equal(chooseEncoding("gzip;q=0, br;q=0"), null);
  assert.equal(chooseEncoding(";;;,,, br;q=nan, gzip;q=-1, *;q=1e999"), null);
  assert.equal(chooseEncoding("br;q=, gzip;q=0.1"), "gzip");
});
