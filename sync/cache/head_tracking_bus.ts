import type { Bus } from "../bus/bus.ts";
import { decodeCursor } from "../cursor.ts";
import { channelOwner, type SyncEvent } from "../events.ts";
import type { SyncCache } from "./sync_cache.ts";

/**
 * The bus, advancing each owner's cached head (a user's, or a team's on `sync:team:<id>`)
 * as its `changes` events go out. Whatever
 * publishes them (the replication listener from the WAL, the in-process notifier after
 * commit, a job's notice) does so only after commit, so the head never runs ahead.
 *
 * must: advance before publishing: a device that hears of the change and pulls must find
 * the cache past its cursor (else it would be told "nothing new" until the head expires).
 * A failed advance does not stop the event: the cache then lags, which costs a query.
 */
export function withHeadTracking(
  bus: Bus,
  cache: SyncCache | null,
  onError: (error: unknown) => void,
): Bus {
  if (!cache) return bus;
  return {
    kind: bus.kind,
    async publish(channel, message) {
      const owner = channelOwner(channel);
      const seq = owner === null ? null : committedSeq(message);
      if (seq !== null) await cache.advance(owner!, seq).catch(onError);
      await bus.publish(channel, message);
    },
    subscribe: (channel, onMessage, onResumed) => bus.subscribe(channel, onMessage, onResumed),
    unsubscribe: (channel) => bus.unsubscribe(channel),
    ping: () => bus.ping(),
    close: () => bus.close(),
  };
}

function committedSeq(message: string): number | null {
  try {
    const event = JSON.parse(message) as SyncEvent;
    return event.type === "changes" ? decodeCursor(event.cursor) : null;
  } catch {
    return null;
  }
}
