/**
 * `deno task simulate` as written in deno.json: it grants network, environment, read and
 * write only, and those are enough to simulate against every service it can start here.
 */
import assert from "node:assert/strict";
import { grants, TASKS } from "../support/deno_tasks.ts";
import { passedThroughEnv } from "../support/service_process.ts";
import { testRedisClusterUrls } from "../support/services.ts";
import { openReplicationDb } from "../sync/replication/support.ts";
import { TEST_SECRET } from "../support/app.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs the task's command with a short simulation and exactly `env` (plus PATH and HOME). */
async function simulate(env: Record<string, string>, ...extra: string[]) {
  const [deno, ...args] = TASKS.simulate.split(/\s+/);
  assert.equal(deno, "deno");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args, "--devices", "2", "--minutes", "0.05", "--actions-per-second", "4", ...extra],
    cwd: ROOT,
    env: { ...passedThroughEnv(), ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("deno task simulate grants net, env, read and write: no processes, no system information", () => {
  assert.deepEqual(grants(TASKS.simulate), {
    "--allow-net": true,
    "--allow-env": true,
    "--allow-read": true,
    "--allow-write": true,
  });
});

Deno.test("deno task simulate converges with those permissions alone: embedded with file stores, and on Postgres with a Redis Cluster", async () => {
  const stores = await Deno.makeTempDir({ prefix: "devpocket-sim-" });
  try {
    const embedded = await simulate({}, "--store-dir", stores);
    assert.equal(embedded.code, 0, embedded.text);
    assert.match(embedded.text, /converged: yes/);
    assert.ok((await Array.fromAsync(Deno.readDir(stores))).length > 0, "the stores were written");
  } finally {
    await Deno.remove(stores, { recursive: true });
  }
  await using db = await openReplicationDb();
  const deployed = await simulate({
    DATABASE_URL: db.url,
    REDIS_CLUSTER_URLS: testRedisClusterUrls().join(","),
    REPLICATION_SLOT: db.slot,
    JWT_SECRET: TEST_SECRET,
  });
  assert.equal(deployed.code, 0, deployed.text);
  assert.match(
    deployed.text,
    /target: +service started here on Postgres \(WAL listener\) and redis-cluster bus/,
  );
  assert.match(deployed.text, /converged: yes/);
});
