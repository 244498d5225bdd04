import type { KvConnection } from "../kv_connection.ts";
import type { Logger } from "../logger.ts";
import type { Limiter } from "./limiter.ts";
import { MemoryLimiter } from "./memory_limiter.ts";
import { RedisLimiter } from "./redis_limiter.ts";
import { UpstashLimiter } from "./upstash_limiter.ts";

/**
 * The limiter for a connection: shared through Redis (one, or a cluster) or Upstash when
 * there is one, in this process's memory otherwise (the embedded default runs one
 * instance).
 */
export function openLimiter(kv: KvConnection, logger?: Logger): Limiter {
  switch (kv.kind) {
    case "redis":
    case "redis-cluster":
      return new RedisLimiter(kv.client);
    case "upstash":
      return new UpstashLimiter(kv.redis, logger);
    case "none":
      return new MemoryLimiter();
  }
}
