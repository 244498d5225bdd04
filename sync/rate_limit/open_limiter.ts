import type { KvConnection } from "../kv_connection.ts";
import type { Logger } from "../logger.ts";
import type { Limiter } from "./limiter.ts";
import { MemoryLimiter } from "./memory_limiter.ts";
import { RedisLimiter } from "./redis_limiter.ts";

/**
 * The limiter for a connection: shared through Redis (one, or a cluster) or Upstash when
 * there is one, in this process's memory otherwise (the embedded default runs one
 * instance). Upstash's rate-limit library is loaded only for an Upstash connection, as its
 * client is (kv_connection.ts): a deployment on Redis or embedded does not hold it.
 */
export async function openLimiter(kv: KvConnection, logger?: Logger): Promise<Limiter> {
  switch (kv.kind) {
    case "redis":
    case "redis-cluster":
      return new RedisLimiter(kv.client);
    case "upstash": {
      const { UpstashLimiter } = await import("./upstash_limiter.ts");
      return new UpstashLimiter(kv.redis, logger);
    }
    case "none":
      return new MemoryLimiter();
  }
}
