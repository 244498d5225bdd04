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
