import type { Bus } from "../bus/bus.ts";
import { encodeCursor } from "../cursor.ts";
import { type SyncEvent, userChannel } from "../events.ts";
import type { Logger } from "../logger.ts";

/**
 * How the embedded default tells devices of tombstones a job committed: the `changes`
 * event a push of deletes would publish, from no device. (On Postgres the replication
 * listener sees the item updates in the WAL and publishes them itself.) A failed publish
 * is logged: devices catch up by cursor.
 */
export function inProcessJobNotice(bus: Bus, logger: Logger) {
  return async (userId: string, head: number): Promise<void> => {
    const event: SyncEvent = {
      type: "changes",
      cursor: encodeCursor(head),
      // The jobs tombstone commands only (retention and expire rules).
      collections: ["commands"],
      origin_device_id: null,
    };
    await bus.publish(userChannel(userId), JSON.stringify(event))
      .catch((error) => logger.warn("In-process publish failed", { error }));
  };
}
