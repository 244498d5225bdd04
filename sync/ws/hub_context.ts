import type { SyncCache } from "../cache/sync_cache.ts";
import type { SyncEvent } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { SyncStore } from "../sync_store.ts";
import type { SocketMeter } from "./connection.ts";

/**
 * What the hub's parts share: the store, the head cache, the logger, and publishing on a
 * user's channel.
 */
export interface HubContext {
  store: SyncStore;
  /** Answers a `hello` at the head without a query (absent or null: always query). */
  cache?: SyncCache | null;
  logger: Logger;
  metrics?: SocketMeter;
  /** Publishes on the user's channel; never rejects (a lost hint costs latency, not data). */
  publish(userId: string, event: SyncEvent): Promise<void>;
  /** Registers work that shutdown waits for. */
  track<T>(work: Promise<T>): Promise<T>;
}
