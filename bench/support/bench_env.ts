/**
 * The Postgres and Redis a benchmark needs. `deno task bench` (bench/run.ts) provides both;
 * a benchmark run directly starts what is missing through {@linkcode benchMain}.
 */
import { type Service, startPostgres, startRedis } from "../../tests/support/cluster.ts";
import { startRedisCluster } from "../../tests/support/redis_cluster.ts";

/** The Redis the benchmarks publish to (TEST_REDIS_URL). */
export function benchRedisUrl(): string {
  const url = Deno.env.get("TEST_REDIS_URL");
  if (!url) throw new Error("TEST_REDIS_URL is not set: run the benchmark with `deno task bench`");
  return url;
}

/** The Redis Cluster's seed URLs, comma-separated (TEST_REDIS_CLUSTER_URLS). */
export function benchRedisClusterUrls(): string {
  const urls = Deno.env.get("TEST_REDIS_CLUSTER_URLS");
  if (!urls) {
    throw new Error("TEST_REDIS_CLUSTER_URLS is not set: run the benchmark with `deno task bench`");
  }
  return urls;
}

/** Starts Postgres (wal_level=logical), Redis and a Redis Cluster unless the environment names them. */
export async function startBenchServices(): Promise<Service[]> {
  const started: Service[] = [];
  if (!Deno.env.get("TEST_DATABASE_URL")) {
    const pg = await startPostgres();
    started.push(pg);
    Deno.env.set("TEST_DATABASE_URL", pg.url);
  }
  if (!Deno.env.get("TEST_REDIS_URL")) {
    const redis = await startRedis();
    started.push(redis);
    Deno.env.set("TEST_REDIS_URL", redis.url);
  }
  if (!Deno.env.get("TEST_REDIS_CLUSTER_URLS")) {
    const cluster = await startRedisCluster();
    started.push(cluster);
    Deno.env.set("TEST_REDIS_CLUSTER_URLS", cluster.url);
  }
  return started;
}

/** `if (import.meta.main) await benchMain(run)`: one benchmark, run by hand. */
export async function benchMain(run: () => Promise<string[]>): Promise<void> {
  const started = await startBenchServices();
  try {
    console.log((await run()).join("\n"));
  } finally {
    for (const service of started.reverse()) await service.stop?.();
  }
}
