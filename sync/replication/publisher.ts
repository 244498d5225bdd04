import type { Bus } from "../bus/bus.ts";
import { BROADCAST_CHANNEL, type BroadcastEvent, ownerChannel } from "../events.ts";
import type { OwnerEvent } from "./decode.ts";
import { ReplicationError } from "./replication_error.ts";

/**
 * Publishes one transaction's events, each as JSON on its owner's channel (a user's, or a
 * team's: `sync:team:<id>`). All publishes
 * are issued at once (a Redis client pipelines them) and all are awaited, so when this
 * resolves every event is with the broker; when one fails it rejects with a
 * `publish_failed` error only after the others settled, so a retry never overlaps them.
 */
export async function publishEvents(bus: Bus, events: readonly OwnerEvent[]): Promise<void> {
  const results = await Promise.allSettled(
    events.map(({ owner, event }) => bus.publish(ownerChannel(owner), JSON.stringify(event))),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed.length > 0) throw publishFailed(bus, failed[0].reason, failed.length, events.length);
}

/**
 * Tells every instance that hints were lost for everyone: each hub then catches each of
 * its sockets up from the socket's cursor.
 */
export async function publishCatchUp(bus: Bus): Promise<void> {
  const event: BroadcastEvent = { type: "catch_up" };
  try {
    await bus.publish(BROADCAST_CHANNEL, JSON.stringify(event));
  } catch (error) {
    throw publishFailed(bus, error, 1, 1);
  }
}

function publishFailed(bus: Bus, reason: unknown, failed: number, of: number): ReplicationError {
  return new ReplicationError(
    "publish_failed",
    `Publishing ${failed} of ${of} events to the ${bus.kind} bus failed: ${
      reason instanceof Error ? reason.message : String(reason)
    }`,
    { cause: reason },
  );
}
