import { abortableSleep } from "../abortable_sleep.ts";
import type { Logger } from "../logger.ts";
import { toReplicationError } from "./replication_error.ts";
import { emitHeartbeat, readSlotStatus, type SqlSession, type WalStatus } from "./slot.ts";

/** What {@link SlotMonitor} works with. */
export interface SlotMonitorOptions {
  slot: string;
  heartbeatMs: number;
  logger: Pick<Logger, "warn" | "error">;
  /** The lock session, when there is one. */
  session: () => SqlSession | null;
  /** True while this instance holds the slot and streams it. */
  streaming: () => boolean;
}

/**
 * Every `heartbeatMs`, on the lock session: a WAL heartbeat while this instance streams
 * (the holder confirms past it, so an idle schema never pins WAL, and a live stream is
 * never silent), and the slot's health for /ready and /metrics, whatever the role.
 */
export class SlotMonitor {
  /** The slot's wal_status at the last check; null before one. */
  walStatus: WalStatus | null = null;
  /** pg_current_wal_lsn() - confirmed_flush_lsn at the last check; null before one. */
  lagBytes: number | null = null;

  constructor(private readonly options: SlotMonitorOptions) {}

  /** Checks until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { slot, heartbeatMs, logger } = this.options;
    while (!signal.aborted) {
      await abortableSleep(heartbeatMs, signal);
      const session = this.options.session();
      if (signal.aborted || !session) continue;
      try {
        if (this.options.streaming()) await emitHeartbeat(session);
        const status = await readSlotStatus(session, slot);
        if (!status) continue;
        this.lagBytes = status.lagBytes;
        if (status.walStatus !== this.walStatus) {
          const fields = { slot, walStatus: status.walStatus, lagBytes: status.lagBytes };
          if (status.walStatus === "unreserved") {
            logger.warn("replication: slot WAL is unreserved and may be removed", fields);
          } else if (status.walStatus === "lost") {
            logger.error(
              "replication: slot lost its WAL; events stop until it is recreated",
              fields,
            );
          }
        }
        this.walStatus = status.walStatus;
      } catch (error) {
        // The lock session reports its own loss; a failed check only costs freshness.
        logger.warn("replication: slot health check failed", {
          slot,
          error: toReplicationError(error).message,
        });
      }
    }
  }
}
