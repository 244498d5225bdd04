/** deploy/nginx.conf, parsed: it passes WebSocket upgrades to both instances of compose.yaml. */
import assert from "node:assert/strict";
import { NginxParser } from "nginx-conf";
import { loadConfig } from "../../config.ts";
import { readCompose, readDockerfile, readRepoFile } from "./compose_file.ts";

/** A directive or block of the parse tree (nginx-conf does not export its node type). */
interface NginxParseTreeNode {
  name: string;
  value: string;
  children: NginxParseTreeNode[] | null;
}

async function parseNginxConf(): Promise<NginxParseTreeNode> {
  const source = await readRepoFile("deploy/nginx.conf");
  return await new Promise((resolve, reject) =>
    new NginxParser().parse(source, (error, tree) => error ? reject(error) : resolve(tree!))
  );
}

/** The directives named `name` directly inside `block`. */
function directives(block: NginxParseTreeNode, name: string): NginxParseTreeNode[] {
  return (block.children ?? []).filter((child) => child.name === name);
}

function only(block: NginxParseTreeNode, name: string): NginxParseTreeNode {
  const found = directives(block, name);
  assert.equal(found.length, 1, `one ${name} in ${block.name} ${block.value}`);
  return found[0];
}

/** `10m`, `512k`, `1024` in bytes, as nginx reads sizes. */
function bytes(size: string): number {
  const [, n, unit] = size.match(/^(\d+)([kmg]?)$/i)!;
  return Number(n) * 1024 ** (unit ? "kmg".indexOf(unit.toLowerCase()) + 1 : 0);
}

Deno.test("nginx.conf: every location passes Upgrade and Connection on HTTP/1.1, so WebSockets reach the instances", async () => {
  const http = only(await parseNginxConf(), "http");
  const map = only(http, "map");
  assert.equal(map.value, "$http_upgrade $connection_upgrade");
  const cases = Object.fromEntries((map.children ?? []).map((c) => [c.name, c.value]));
  // An upgrade request says "upgrade" upstream; any other request leaves Connection empty,
  // which keeps the upstream keep-alive connections usable.
  assert.deepEqual(cases, { default: "upgrade", '""': '""' });

  const locations = directives(only(http, "server"), "location");
  assert.ok(locations.length > 0);
  for (const location of locations) {
    assert.equal(only(location, "proxy_http_version").value, "1.1");
    const headers = new Map(
      directives(location, "proxy_set_header").map((h) => {
        const [name, ...value] = h.value.split(/\s+/);
        return [name.toLowerCase(), value.join(" ")];
      }),
    );
    assert.equal(headers.get("upgrade"), "$http_upgrade");
    assert.equal(headers.get("connection"), "$connection_upgrade");
    assert.equal(headers.get("host"), "$host");
    assert.equal(only(location, "proxy_pass").value, "http://devpocket_sync");
    // Longer than the hub's 30 s protocol ping, so an idle socket is never cut.
    assert.ok(Number(only(location, "proxy_read_timeout").value.replace(/s$/, "")) > 30);
  }
});

Deno.test("nginx.conf: the upstream is both compose instances on the image's port, looked up again as they restart", async () => {
  const http = only(await parseNginxConf(), "http");
  assert.match(only(http, "resolver").value, /^127\.0\.0\.11\b/, "Docker's DNS");
  const upstream = only(http, "upstream");
  assert.equal(upstream.value, "devpocket_sync");
  assert.ok(directives(upstream, "zone").length === 1, "`resolve` needs a shared zone");
  const { services } = await readCompose();
  const { env } = await readDockerfile();
  const servers = directives(upstream, "server").map((s) => s.value.split(/\s+/));
  assert.deepEqual(
    servers.map(([address]) => address).sort(),
    ["sync", "sync-api"].map((name) => `${name}:${env.PORT}`).sort(),
  );
  for (const [address, ...options] of servers) {
    assert.ok(services[address.split(":")[0]], `${address} is a compose service`);
    assert.ok(options.includes("resolve"), `${address} is resolved again`);
  }
  assert.equal(only(only(http, "server"), "listen").value, "80");
});

Deno.test("nginx.conf: the body limit is above the service's, so an oversized push gets the service's JSON 413", async () => {
  const server = only(only(await parseNginxConf(), "http"), "server");
  const limit = only(server, "client_max_body_size").value;
  assert.ok(bytes(limit) > loadConfig({}).MAX_BODY_BYTES, `client_max_body_size ${limit}`);
});
