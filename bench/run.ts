/**
 * `deno task bench`: every benchmark, on a throwaway Postgres (wal_level=logical) unless
 * TEST_DATABASE_URL names one. Prints figures and their ratios to plain baselines.
 */
import { startPostgres } from "../tests/support/cluster.ts";

const pg = Deno.env.get("TEST_DATABASE_URL") ? null : await startPostgres();
if (pg) Deno.env.set("TEST_DATABASE_URL", pg.url);
try {
  const benches = [
    await import("./merge.ts"),
    await import("./push_pull.ts"),
    await import("./conflicts.ts"),
  ];
  for (const bench of benches) console.log((await bench.run()).join("\n") + "\n");
} finally {
  await pg?.stop?.();
}
