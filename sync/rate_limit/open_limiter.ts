import type { KvConnection } from "../kv_connection.ts";
import type { Limiter } from "./limiter.ts";
import { MemoryLimiter } from "./memory_limiter.ts";
import { RedisLimiter } from "./redis_limiter.ts";
import { UpstashLimiter } from "./upstash_limiter.ts";

/**
 * The limiter for a connection: shared through Redis or Upstash when there is one, in
 * this process's memory otherwise (the embedded default runs one instance).
 */
export function openLimiter(kv: KvConnection): Limiter {
  switch (kv.kind) {
    case "redis":
      return new RedisLimiter(kv.client);
    case "upstash":
      return new UpstashLimiter(kv.redis);
    case "none":
      return new MemoryLimiter();
  }
}
