import { type Instance, openInstance } from "../support/instance.ts";
import { testRedisUrl } from "../support/services.ts";
import { startThrowawayRedis, type ThrowawayRedis } from "../sync/bus/throwaway_redis.ts";
import { openReplicationDb, type ReplicationDb } from "../sync/replication/support.ts";

/** One database, its slot, and two instances A and B on it (A starts first: A holds). */
export interface Cluster extends AsyncDisposable {
  db: ReplicationDb;
  a: Instance;
  b: Instance;
  /** The Redis of this cluster alone, when asked for (to stop it, or to keep its traffic apart). */
  redis: ThrowawayRedis | null;
  /** The instances whose listener holds the slot, and the others. */
  holders(): Instance[];
}

export interface ClusterOptions {
  /** `private`: a redis-server of the cluster's own; else the shared test Redis. */
  redis?: "shared" | "private";
  /** Where B reaches Redis, given the cluster's Redis URL (e.g. through a proxy). */
  redisUrlOfB?: (redisUrl: string) => string;
  /** A Redis Cluster's seed URLs (comma-separated): the instances use the cluster bus. */
  redisClusterUrls?: string;
  /** B's role; `api` leaves A's listener the only one. */
  b?: "all" | "api";
}

export async function openCluster(
  {
    redis: which = "shared",
    redisUrlOfB = (url) => url,
    redisClusterUrls,
    b: roleB = "all",
  }: ClusterOptions = {},
): Promise<Cluster> {
  const redis = which === "private" ? await startThrowawayRedis() : null;
  const redisUrl = redis?.url ?? testRedisUrl();
  const db = await openReplicationDb().catch(async (error) => {
    await redis?.stop();
    throw error;
  });
  const common = { databaseUrl: db.url, redisUrl, redisClusterUrls, slot: db.slot };
  const instances: Instance[] = [];
  const dispose = async () => {
    // must: every listener is stopped before the slot and the database are dropped.
    await Promise.all(instances.map((i) => i.stop()));
    await db[Symbol.asyncDispose]();
    await redis?.stop();
  };
  try {
    instances.push(await openInstance(common));
    instances.push(
      await openInstance({ ...common, redisUrl: redisUrlOfB(redisUrl), role: roleB }),
    );
  } catch (error) {
    await dispose();
    throw error;
  }
  const [a, b] = instances;
  return {
    db,
    a,
    b,
    redis,
    holders: () => instances.filter((i) => i.listener?.state().role === "holder"),
    [Symbol.asyncDispose]: dispose,
  };
}
