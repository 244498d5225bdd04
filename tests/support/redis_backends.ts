/**
 * The two TCP Redis deployments the limiter and the caches run on, for tests that must
 * pass on both: one Redis (REDIS_URL) and a three-master Redis Cluster (REDIS_CLUSTER_URLS).
 */
import { type KvConnection, openKvConnection } from "../../sync/kv_connection.ts";
import { SILENT_LOGGER } from "../../sync/logger.ts";
import { startThrowawayRedis } from "../sync/bus/throwaway_redis.ts";
import { type ClusterNode, masterOf, startRedisCluster } from "./redis_cluster.ts";
import { testRedisClusterUrls, testRedisUrl } from "./services.ts";

/** What picks the key-value connection: a subset of `Config`. */
export type KvConfig = { REDIS_URL: string } | { REDIS_CLUSTER_URLS: string[] };

/** A Redis of the test's own, which it may crash and restart. */
export interface OwnRedis extends AsyncDisposable {
  config: KvConfig;
  /** Kills the server that holds `key` (the master of its slot, on a cluster). */
  crash(key: string): Promise<void>;
  /** Starts what `crash` killed again; resolves once it answers. */
  restart(): Promise<void>;
}

/** One deployment: the suite's shared server, or one of the test's own. */
export interface RedisBackend {
  shared(): KvConfig;
  own(): Promise<OwnRedis>;
}

export const REDIS_BACKENDS: Record<"Redis" | "Redis Cluster", RedisBackend> = {
  "Redis": {
    shared: () => ({ REDIS_URL: testRedisUrl() }),
    async own() {
      const redis = await startThrowawayRedis();
      return {
        config: { REDIS_URL: redis.url },
        crash: () => redis.stop(),
        restart: () => redis.start(),
        [Symbol.asyncDispose]: () => redis.stop(),
      };
    },
  },
  "Redis Cluster": {
    shared: () => ({ REDIS_CLUSTER_URLS: testRedisClusterUrls() }),
    async own() {
      const cluster = await startRedisCluster();
      let crashed: ClusterNode | null = null;
      return {
        config: { REDIS_CLUSTER_URLS: cluster.url.split(",") },
        async crash(key) {
          crashed = await masterOf(cluster, key);
          await crashed.stop();
        },
        restart: () => crashed!.start(),
        [Symbol.asyncDispose]: () => cluster.stop(),
      };
    },
  },
};

/** A key-value connection to Redis or a cluster, as service.ts opens it. */
export interface TestKv extends AsyncDisposable {
  kv: Extract<KvConnection, { kind: "redis" | "redis-cluster" }>;
  /** GET on the server (or master) holding `key`; rejects while it does not answer. */
  get(key: string): Promise<string | null>;
}

export async function openTestKv(config: KvConfig): Promise<TestKv> {
  const kv = await openKvConnection(config, SILENT_LOGGER);
  if (kv.kind !== "redis" && kv.kind !== "redis-cluster") {
    await kv.close();
    throw new Error(`Expected a Redis connection for ${JSON.stringify(config)}: got ${kv.kind}`);
  }
  return {
    kv,
    get: (key) => kv.client.get(key),
    [Symbol.asyncDispose]: () => kv.close(),
  };
}
