import assert from "node:assert/strict";
import { ConfigError, loadConfig, verifiesWithSecret } from "../config.ts";

Deno.test("loadConfig() applies the contract's defaults to an empty environment", () => {
  const config = loadConfig({});
  assert.deepEqual(
    [
      config.HOST,
      config.PORT,
      config.DATA_DIR,
      config.REPLICATION_SLOT,
      config.TOMBSTONE_RETENTION_DAYS,
      config.ROLE,
      config.LOG_LEVEL,
    ],
    ["0.0.0.0", 8000, "./data", "devpocket_sync", 30, "all", "info"],
  );
  assert.equal(config.DATABASE_URL, undefined);
  assert.equal(loadConfig({ PORT: "" }).PORT, 8000);
});

Deno.test("loadConfig() stops on a bad value with a message naming the variable", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "eighty" }, /^Invalid configuration: PORT .*"eighty"/],
    [{ HOST: "0.0.0.0/24" }, /HOST must be a host name or IP address: got "0.0.0.0\/24"/],
    [{ JWT_JWKS_URL: "http://auth.example/jwks.json" }, /JWT_JWKS_URL must be a https:\/\/ URL/],
    [{ JWT_JWKS_URL: "http://127.0.0.1:8080/jwks.json" }, /JWT_JWKS_URL must be a https/],
    [{ JWT_JWKS_URL: "ftp://auth.example/jwks.json" }, /JWT_JWKS_URL must be a https/],
    [{ JWT_JWKS_URL: "https://auth example/jwks" }, /JWT_JWKS_URL must be a https/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL must be a postgres:\/\/ URL: got "mysql:\/\/x"/],
    [{ ROLE: "worker" }, /ROLE/],
    [{ JWT_SECRET: "short" }, /JWT_SECRET must be at least 32 characters$/],
    [{ REPLICATION_SLOT: "Bad-Name" }, /REPLICATION_SLOT/],
    [{ UPSTASH_REDIS_REST_URL: "https://x" }, /UPSTASH_REDIS_REST_TOKEN must be set/],
    [{ ROLE: "listener" }, /ROLE=listener needs DATABASE_URL/],
    [{ DATABASE_URL: "postgres://db/sync" }, /JWT_SECRET .* must be set with DATABASE_URL/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("loadConfig() never echoes a secret's value", () => {
  assert.throws(() => loadConfig({ JWT_SECRET: "hunter2" }), (error: unknown) => {
    assert.ok(error instanceof Error && !error.message.includes("hunter2"));
    return true;
  });
});

Deno.test("loadConfig() takes REDIS_CLUSTER_URLS as comma-separated redis:// seed nodes", () => {
  const config = loadConfig({
    REDIS_CLUSTER_URLS: " redis://10.0.0.1:7000, rediss://:pw@10.0.0.2:7001 ,",
  });
  assert.deepEqual(config.REDIS_CLUSTER_URLS, [
    "redis://10.0.0.1:7000",
    "rediss://:pw@10.0.0.2:7001",
  ]);
  assert.equal(loadConfig({ REDIS_CLUSTER_URLS: "" }).REDIS_CLUSTER_URLS, undefined);
});

Deno.test("loadConfig() refuses a bad REDIS_CLUSTER_URLS entry, or it beside another Redis, without echoing a password", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { REDIS_CLUSTER_URLS: "redis://a:7000,http://b:7001" },
      /^REDIS_CLUSTER_URLS must be comma-separated redis:\/\/host:port URLs: got "http:\/\/b:7001"$/,
    ],
    [{ REDIS_CLUSTER_URLS: "redis://:hunter2@a" }, /got "redis:\/\/\*\*\*@a"$/],
    [{ REDIS_CLUSTER_URLS: "10.0.0.1:7000" }, /REDIS_CLUSTER_URLS must be/],
    [{ REDIS_CLUSTER_URLS: "//:hunter2@a" }, /got "\/\/\*\*\*@a"$/],
    [
      { REDIS_CLUSTER_URLS: "redis://a:7000", REDIS_URL: "redis://b:6379" },
      /Set one of REDIS_URL, REDIS_CLUSTER_URLS or UPSTASH_REDIS_REST_URL, not several/,
    ],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("hunter2"));
      return true;
    });
  }
});

Deno.test("loadConfig() reads rate limits, jobs and cache settings, and names a bad one", () => {
  const config = loadConfig({
    RATE_LIMITS: '{"free":{"device":60}}',
    CLIENT_IP_HEADER: "X-Real-IP",
  });
  assert.deepEqual(config.RATE_LIMITS, { free: { device: 60 } });
  assert.equal(config.CLIENT_IP_HEADER, "x-real-ip");
  assert.deepEqual(
    [config.JOBS_INTERVAL_SECONDS, config.DEVICE_INACTIVE_DAYS, config.RATE_LIMIT_AUTH_FAILURES],
    [60, 60, 30],
  );
  assert.equal(config.SYNC_CACHE, "on");
  assert.equal(config.MEMORY_TRIM_SECONDS, 1);
  const cases: [Record<string, string>, RegExp][] = [
    [{ RATE_LIMITS: "fast" }, /^Invalid configuration: RATE_LIMITS must be a JSON object/],
    [{ RATE_LIMITS: '{"gold":{}}' }, /RATE_LIMITS Unrecognized key: "gold"/],
    [{ RATE_LIMITS: '{"free":{"devices":1}}' }, /RATE_LIMITS.free Unrecognized key: "devices"/],
    [{ RATE_LIMITS: '{"pro":{"user":0}}' }, /RATE_LIMITS.pro.user .*: got "\{/],
    [{ JOBS_INTERVAL_SECONDS: "-1" }, /JOBS_INTERVAL_SECONDS/],
    [{ CLIENT_IP_HEADER: "x forwarded" }, /CLIENT_IP_HEADER must be a header name/],
    [{ SYNC_CACHE: "maybe" }, /SYNC_CACHE/],
    [{ MEMORY_TRIM_SECONDS: "-1" }, /MEMORY_TRIM_SECONDS/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("loadConfig() takes HOST, and a JWKS URL over https", () => {
  assert.equal(loadConfig({ HOST: "127.0.0.1" }).HOST, "127.0.0.1");
  assert.equal(loadConfig({ HOST: "::" }).HOST, "::");
  const jwks = "https://auth.example/.well-known/jwks.json";
  assert.equal(loadConfig({ JWT_JWKS_URL: jwks }).JWT_JWKS_URL, jwks);
});

Deno.test("verifiesWithSecret() is false with a public key or a JWKS, so mint-token is not offered", () => {
  assert.equal(verifiesWithSecret(loadConfig({})), true);
  assert.equal(verifiesWithSecret(loadConfig({ JWT_SECRET: "x".repeat(32) })), true);
  assert.equal(
    verifiesWithSecret(loadConfig({ JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----" })),
    false,
  );
  assert.equal(
    verifiesWithSecret(
      loadConfig({ JWT_SECRET: "x".repeat(32), JWT_JWKS_URL: "https://a.example/j" }),
    ),
    false,
  );
});
