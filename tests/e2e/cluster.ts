import { type Instance, openInstance } from "../support/instance.ts";
import { testRedisUrl } from "../support/services.ts";
import { openReplicationDb, type ReplicationDb } from "../sync/replication/support.ts";

/** One database, its slot, and two instances A and B on it (A starts first: A holds). */
export interface Cluster extends AsyncDisposable {
  db: ReplicationDb;
  a: Instance;
  b: Instance;
  /** The instances whose listener holds the slot, and the others. */
  holders(): Instance[];
}

export interface ClusterOptions {
  /** The shared test Redis unless given. */
  redisUrl?: string;
  /** A Redis Cluster's seed URLs (comma-separated): the instances use the cluster bus. */
  redisClusterUrls?: string;
  /** B's role; `api` leaves A's listener the only one. */
  b?: "all" | "api";
}

export async function openCluster(
  { redisUrl = testRedisUrl(), redisClusterUrls, b: roleB = "all" }: ClusterOptions = {},
): Promise<Cluster> {
  const db = await openReplicationDb();
  const common = { databaseUrl: db.url, redisUrl, redisClusterUrls, slot: db.slot };
  const instances: Instance[] = [];
  const dispose = async () => {
    // must: every listener is stopped before the slot and the database are dropped.
    await Promise.all(instances.map((i) => i.stop()));
    await db[Symbol.asyncDispose]();
  };
  try {
    instances.push(await openInstance(common));
    instances.push(await openInstance({ ...common, role: roleB }));
  } catch (error) {
    await dispose();
    throw error;
  }
  const [a, b] = instances;
  return {
    db,
    a,
    b,
    holders: () => instances.filter((i) => i.listener?.state().role === "holder"),
    [Symbol.asyncDispose]: dispose,
  };
}
