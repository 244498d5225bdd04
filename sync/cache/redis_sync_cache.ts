import type { RedisClient, RedisClusterClient } from "../kv_connection.ts";
import { userKey } from "../redis_keys.ts";
import {
  type CachedStats,
  HEAD_TTL_SECONDS,
  STATS_TTL_SECONDS,
  type SyncCache,
} from "./sync_cache.ts";

const headKey = (userId: string) => userKey(userId, "head");
const statsKey = (userId: string) => userKey(userId, "stats");

/**
 * Raises the head (never lowers it) and renews its expiry, atomically: one command where a
 * MULTI of ZADD and EXPIRE is four, on the path of every commit (after it, and by the
 * replication listener before it publishes; once per commit when one process does both:
 * remembered_advances.ts).
 */
const ADVANCE_HEAD = `redis.call("ZADD", KEYS[1], "GT", ARGV[1], "head")
redis.call("EXPIRE", KEYS[1], ARGV[2])`;

/**
 * The cache on the deployment's Redis (one, or a cluster), shared by every instance. A
 * head is a one-member sorted set so that `ZADD … GT` raises it atomically and never
 * lowers it, whichever instance writes last. Keys are `userKey()`s: one user's head and
 * stats share a cluster slot.
 */
export class RedisSyncCache implements SyncCache {
  constructor(readonly client: RedisClient | RedisClusterClient) {}

  async head(userId: string): Promise<number | null> {
    return await this.client.zScore(headKey(userId), "head");
  }

  async advance(userId: string, seq: number): Promise<void> {
    await this.client.eval(ADVANCE_HEAD, {
      keys: [headKey(userId)],
      arguments: [String(seq), String(HEAD_TTL_SECONDS)],
    });
  }

  async stats(userId: string): Promise<{ head: number | null; stats: CachedStats | null }> {
    const [head, stats] = await Promise.all([
      this.head(userId),
      this.client.get(statsKey(userId)),
    ]);
    return { head, stats: stats ? JSON.parse(stats) as CachedStats : null };
  }

  async putStats(userId: string, stats: CachedStats): Promise<void> {
    await this.client.set(statsKey(userId), JSON.stringify(stats), { EX: STATS_TTL_SECONDS });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
