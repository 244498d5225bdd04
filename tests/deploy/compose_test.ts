/**
 * compose.yaml, checked without Docker (no engine runs here): it parses, names images that
 * fit, wires health checks, commits no secret, and the environment it gives each instance,
 * run with the Dockerfile's command on this test's Postgres and Redis, really starts one.
 */
import assert from "node:assert/strict";
import { SHUTDOWN_GRACE_MS } from "../../service.ts";
import { TEST_SECRET } from "../support/app.ts";
import { testRedisUrl } from "../support/services.ts";
import { startServiceProcess } from "../support/service_process.ts";
import { openReplicationDb } from "../sync/replication/support.ts";
import { type ComposeService, interpolate, readCompose, readDockerfile } from "./compose_file.ts";

const SECRETS = { JWT_SECRET: TEST_SECRET, POSTGRES_PASSWORD: "0123456789abcdef" };
const INSTANCES = { sync: "all", "sync-api": "api" } as const;

/** An image's `name:tag` and the leading version numbers of its tag. */
function imageVersion(image: string | undefined): { name: string; version: number[] } {
  const [name, tag = ""] = (image ?? "").split(":");
  return { name, version: (tag.match(/^\d+(\.\d+)*/)?.[0] ?? "").split(".").map(Number) };
}

function atLeast(version: number[], minimum: number[]): boolean {
  for (const [i, min] of minimum.entries()) {
    const part = version[i] ?? 0;
    if (part !== min) return part > min;
  }
  return true;
}

function environment(service: ComposeService, vars: Record<string, string>) {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), vars)]),
  );
}

Deno.test("compose.yaml: Postgres 16 with logical replication, Redis 7, nginx that resolves upstreams, the service image built from this Dockerfile", async () => {
  const { services } = await readCompose();
  assert.deepEqual(Object.keys(services).sort(), [
    "postgres",
    "proxy",
    "redis",
    "sync",
    "sync-api",
  ]);
  const postgres = imageVersion(services.postgres.image);
  assert.deepEqual([postgres.name, postgres.version[0]], ["postgres", 16]);
  const settings = Object.fromEntries(
    (services.postgres.command ?? []).filter((arg) => arg.includes("=")).map((arg) =>
      arg.split("=")
    ),
  );
  assert.equal(settings.wal_level, "logical");
  // A slot and a WAL sender per deployment, and one more for a takeover in progress.
  assert.ok(Number(settings.max_replication_slots) >= 2);
  assert.ok(Number(settings.max_wal_senders) >= 2);
  const redis = imageVersion(services.redis.image);
  assert.equal(redis.name, "redis");
  assert.ok(atLeast(redis.version, [7]), "SSUBSCRIBE and the bus's commands need Redis 7");
  const nginx = imageVersion(services.proxy.image);
  assert.equal(nginx.name, "nginx");
  assert.ok(atLeast(nginx.version, [1, 27, 3]), "`server … resolve` needs nginx 1.27.3");

  const dockerfile = await readDockerfile();
  assert.equal(dockerfile.from, `denoland/deno:${Deno.version.deno}`, "the Deno the tests run on");
  for (const name of Object.keys(INSTANCES)) {
    assert.equal(services[name].build, ".", `${name} is built from this repository`);
  }
});

Deno.test("compose.yaml: health checks gate start-up on /ready, liveness is /health, and a stop waits out the drain", async () => {
  const { services } = await readCompose();
  const dockerfile = await readDockerfile();
  assert.match(dockerfile.healthcheck, /127\.0\.0\.1:8000\/health'/);
  assert.equal(dockerfile.env.PORT, "8000");
  for (const name of Object.keys(INSTANCES)) {
    const service = services[name];
    assert.match(
      service.healthcheck!.test.join(" "),
      /fetch\('http:\/\/127\.0\.0\.1:8000\/ready'\)/,
    );
    assert.deepEqual(service.depends_on, {
      postgres: { condition: "service_healthy" },
      redis: { condition: "service_healthy" },
    });
    const grace = Number(service.stop_grace_period?.match(/^(\d+)s$/)?.[1]) * 1000;
    assert.ok(grace > SHUTDOWN_GRACE_MS, `${name}: stop_grace_period ${grace} ms`);
  }
  assert.match(
    services.postgres.healthcheck!.test.join(" "),
    /pg_isready -U devpocket -d devpocket/,
  );
  assert.deepEqual(services.redis.healthcheck!.test, ["CMD", "redis-cli", "ping"]);
  assert.match(services.proxy.healthcheck!.test.join(" "), /http:\/\/127\.0\.0\.1\/health/);
  assert.deepEqual(services.proxy.depends_on, {
    sync: { condition: "service_healthy" },
    "sync-api": { condition: "service_healthy" },
  });
  assert.deepEqual(services.proxy.volumes, ["./deploy/nginx.conf:/etc/nginx/nginx.conf:ro"]);
  assert.deepEqual(services.proxy.ports, ["${PORT:-8000}:80"]);
  assert.deepEqual(services.postgres.volumes, ["pgdata:/var/lib/postgresql/data"]);
});

Deno.test("compose.yaml: no secret is committed; without JWT_SECRET or POSTGRES_PASSWORD it refuses to start", async () => {
  const { services } = await readCompose();
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (!/SECRET|PASSWORD/.test(key)) continue;
      assert.match(
        String(value),
        /^\$\{[A-Z_]+:\?[^}]+\}$/,
        `${name}.${key} comes from the environment`,
      );
    }
  }
  for (const missing of Object.keys(SECRETS)) {
    const vars: Record<string, string> = { ...SECRETS, [missing]: "" };
    assert.throws(() => environment(services.sync, vars), new RegExp(`${missing} is missing`));
  }
  // The instances reach Postgres as the user, with the password, of the postgres service.
  const env = environment(services.sync, SECRETS);
  const db = environment(services.postgres, SECRETS);
  const url = new URL(env.DATABASE_URL);
  assert.deepEqual(
    [url.hostname, url.port, url.username, url.password, url.pathname],
    ["postgres", "5432", db.POSTGRES_USER, db.POSTGRES_PASSWORD, `/${db.POSTGRES_DB}`],
  );
  assert.equal(env.REDIS_URL, "redis://redis:6379");
});

Deno.test("compose.yaml: each instance's environment, run with the Dockerfile's command on real Postgres and Redis, answers /ready in its role", async () => {
  const { services } = await readCompose();
  const { cmd, env: imageEnv } = await readDockerfile();
  await using db = await openReplicationDb();
  const started = [];
  try {
    for (const [name, role] of Object.entries(INSTANCES)) {
      const env = environment(services[name], SECRETS);
      assert.equal(env.ROLE, role);
      // Only the addresses change: the compose network's hosts do not exist here.
      const service = await startServiceProcess({
        ...imageEnv,
        ...env,
        DATABASE_URL: db.url,
        REDIS_URL: testRedisUrl(),
        REPLICATION_SLOT: db.slot,
      }, cmd);
      started.push(service);
      const ready = await (await fetch(`${service.url}/ready`)).json();
      assert.equal(ready.status, "ready");
      assert.equal(ready.bus.kind, "redis");
      assert.equal(ready.listener?.role ?? null, role === "all" ? "holder" : null, name);
    }
  } finally {
    for (const service of started.reverse()) await service[Symbol.asyncDispose]();
  }
});
