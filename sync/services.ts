import type { SyncCache } from "./cache/sync_cache.ts";
import type { ChangeNotifier } from "./change_notifier.ts";
import { ConflictService } from "./conflict_service.ts";
import { DeviceService } from "./device_service.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { StatsService } from "./stats_service.ts";
import type { SyncStore } from "./sync_store.ts";
import { ReceiptsService, type ReceiptsStore } from "./receipts.ts";
import { RedactionService, type RedactionStore } from "./redaction.ts";
import { SyncService } from "./sync_service.ts";

/** What the services share besides the store: a clock, the head cache, metrics, a logger. */
export interface ServiceOptions {
  clock?: () => number;
  /** Answers pulls and stats at the head without a query (null or absent: always query). */
  cache?: SyncCache | null;
  metrics?: Metrics;
  /** Where the services report what needs an operator's look (absent: nowhere). */
  logger?: Logger;
  /**
   * This process makes every change to the database's devices and accounts (the embedded
   * default): device tokens are remembered, not read per request (DeviceService).
   */
  soleWriter?: boolean;
}

/** The domain services over one store, wired the same way in main.ts and in tests. */
export function buildServices(
  store: SyncStore & ReceiptsStore & RedactionStore,
  notifier: ChangeNotifier,
  { clock = Date.now, cache = null, metrics, logger, soleWriter = false }: ServiceOptions = {},
) {
  const devices = new DeviceService(store, notifier, clock, soleWriter);
  const redaction = new RedactionService(store, notifier, { clock, cache });
  const sync = new SyncService(store, notifier, { clock, cache, metrics, logger, redaction });
  return {
    devices,
    sync,
    stats: new StatsService(store, devices, cache),
    conflicts: new ConflictService(store, sync, clock, redaction),
    receipts: new ReceiptsService(store),
    redaction,
  };
}
