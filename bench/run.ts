/**
 * `deno task bench`: every benchmark, on a throwaway Postgres (wal_level=logical) unless
 * TEST_DATABASE_URL names one, and on TEST_REDIS_URL, else Redis at 127.0.0.1:6379 if it
 * answers, else a throwaway redis-server. Prints figures and their ratios to plain baselines.
 */
import { cleanUpOnInterrupt } from "../tests/support/cluster.ts";
import { startBenchServices } from "./support/bench_env.ts";

const started = await startBenchServices();
const stopServices = async () => {
  for (const service of started.splice(0).reverse()) await service.stop?.();
};
cleanUpOnInterrupt(stopServices);
try {
  const benches = [
    await import("./merge.ts"),
    await import("./privacy_filter.ts"),
    await import("./push_pull.ts"),
    await import("./pull_at_head.ts"),
    await import("./hello_at_head.ts"),
    await import("./conflicts.ts"),
    await import("./realtime_latency.ts"),
    await import("./wal_throughput.ts"),
    await import("./idle_sockets.ts"),
    await import("./fan_out.ts"),
    await import("./client_sync.ts"),
    await import("./redaction.ts"),
  ];
  for (const bench of benches) console.log((await bench.run()).join("\n") + "\n");
} finally {
  await stopServices();
}
