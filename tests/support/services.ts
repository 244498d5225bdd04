/**
 * What the integration tests need from outside: a Postgres with logical replication and
 * a Redis. `deno task test` (tests/run.ts) provides both; a test run by hand without
 * them fails with this message rather than skipping.
 */
const HOW_TO =
  "run the suite with `deno task test` (it starts a throwaway Postgres and finds or starts Redis), " +
  "or set TEST_DATABASE_URL (Postgres with wal_level=logical), TEST_REDIS_URL and " +
  "TEST_REDIS_CLUSTER_URLS (a Redis Cluster's nodes, comma-separated) yourself";

/** The admin URL of the test Postgres (wal_level=logical). */
export function testDatabaseUrl(): string {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error(`TEST_DATABASE_URL is not set: ${HOW_TO}`);
  return url;
}

/** The URL of the test Redis. */
export function testRedisUrl(): string {
  const url = Deno.env.get("TEST_REDIS_URL");
  if (!url) throw new Error(`TEST_REDIS_URL is not set: ${HOW_TO}`);
  return url;
}

/** The seed URLs of the test Redis Cluster (three masters), as REDIS_CLUSTER_URLS takes them. */
export function testRedisClusterUrls(): string[] {
  const urls = Deno.env.get("TEST_REDIS_CLUSTER_URLS");
  if (!urls) throw new Error(`TEST_REDIS_CLUSTER_URLS is not set: ${HOW_TO}`);
  return urls.split(",");
}
