/**
 * `deno task test`: brings up what the tests need, runs `deno test`, tears it down.
 * - Postgres: TEST_DATABASE_URL if given, else a throwaway cluster with
 *   wal_level=logical from the installed PostgreSQL binaries on a free port.
 * - Redis: TEST_REDIS_URL or REDIS_URL if given, else 127.0.0.1:6379 if it answers,
 *   else a throwaway redis-server.
 * - Redis Cluster: TEST_REDIS_CLUSTER_URLS if given, else three throwaway masters.
 * Extra arguments go to `deno test` (e.g. a file or `--filter`).
 */
import { junitSummary } from "./support/junit_summary.ts";
import { ensureChromium } from "./support/chromium.ts";
import { cleanUpOnInterrupt, type Service, startPostgres, startRedis } from "./support/cluster.ts";
import { startRedisCluster } from "./support/redis_cluster.ts";
import { makeMigratedSeed } from "./support/drivers.ts";

const services: Service[] = [];
let child: Deno.ChildProcess | null = null;
const stopServices = async () => {
  try {
    child?.kill("SIGINT");
  } catch {
    // Already exited.
  }
  for (const service of services.splice(0).reverse()) await service.stop?.();
};
cleanUpOnInterrupt(stopServices);
let code = 1;
try {
  const env: Record<string, string> = {};
  if (Deno.env.get("TEST_DATABASE_URL")) {
    env.TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL")!;
  } else {
    const pg = await startPostgres();
    services.push(pg);
    env.TEST_DATABASE_URL = pg.url;
  }
  const redisUrl = Deno.env.get("TEST_REDIS_URL") ?? Deno.env.get("REDIS_URL");
  if (redisUrl) env.TEST_REDIS_URL = redisUrl;
  else {
    const redis = await startRedis();
    if (redis.stop) services.push(redis);
    env.TEST_REDIS_URL = redis.url;
  }
  env.TEST_REDIS_CLUSTER_URLS = Deno.env.get("TEST_REDIS_CLUSTER_URLS") ?? "";
  if (!env.TEST_REDIS_CLUSTER_URLS) {
    const redisCluster = await startRedisCluster();
    services.push(redisCluster);
    env.TEST_REDIS_CLUSTER_URLS = redisCluster.url;
  }
  const seed = await Deno.makeTempFile({ suffix: ".tar" });
  services.push({ url: seed, stop: () => Deno.remove(seed) });
  await Deno.writeFile(seed, (await makeMigratedSeed()).stream());
  env.TEST_PGLITE_SEED = seed;
  const chromium = await ensureChromium();
  if (chromium) env.CHROMIUM_PATH = chromium;
  console.log(
    `tests: Postgres ${env.TEST_DATABASE_URL}, Redis ${env.TEST_REDIS_URL}, ` +
      `Redis Cluster ${env.TEST_REDIS_CLUSTER_URLS}`,
  );
  const args = Deno.args.length ? Deno.args : ["tests/", "conflict/", "sync/", "routes/", "db/"];
  const junit = await Deno.makeTempFile({ suffix: ".xml" });
  child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--doc", `--junit-path=${junit}`, ...args],
    env,
    stdin: "null",
  }).spawn();
  code = (await child.status).code;
  console.log(await summary(junit));
  await Deno.remove(junit);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
} finally {
  await stopServices();
}
Deno.exit(code);

/** The plain closing line CI reads: "N passed, N failed" (and what did not run, if any). */
async function summary(junitPath: string): Promise<string> {
  const xml = await Deno.readTextFile(junitPath).catch(() => "");
  const { passed, failed, notRun } = junitSummary(xml);
  const skipped = notRun > 0 ? `, ${notRun} not run (filtered out or ignored)` : "";
  return `tests: ${passed} passed, ${failed} failed${skipped}`;
}
