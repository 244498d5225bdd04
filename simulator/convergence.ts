import { jsonEqual } from "../client/json.ts";
import type { SyncApi } from "../client/sync_api.ts";
import type { SyncClient } from "../client/sync_client.ts";
import { COLLECTIONS, type PulledChange } from "../client/wire.ts";

/** Every item a fresh full pull returns, tombstones included, by `collection/id`. */
export async function fullPull(api: SyncApi): Promise<Map<string, PulledChange>> {
  const items = new Map<string, PulledChange>();
  let since: string | null = null;
  for (;;) {
    const page = await api.pull({ since, limit: 1000 });
    for (const change of page.changes) items.set(`${change.collection}/${change.id}`, change);
    since = page.cursor;
    if (!page.has_more) return items;
  }
}

/**
 * How a device's store differs from a fresh full pull (empty when it equals it): every
 * live item with the same data and version, no other live item, and nothing queued.
 */
export function differences(
  client: SyncClient,
  server: Map<string, PulledChange>,
): string[] {
  const out: string[] = [];
  if (client.status.queued > 0) out.push(`${client.status.queued} changes still queued`);
  const live = new Set<string>();
  for (const collection of COLLECTIONS) {
    for (const item of client.list(collection)) {
      const key = `${collection}/${item.id}`;
      live.add(key);
      const stored = server.get(key);
      if (!stored || stored.deleted) out.push(`${key}: on the device, not on the server`);
      else if (stored.version !== item.version || !jsonEqual(stored.data, item.data)) {
        out.push(`${key}: version ${item.version} here, ${stored.version} on the server`);
      }
    }
  }
  for (const [key, stored] of server) {
    if (!stored.deleted && !live.has(key)) out.push(`${key}: on the server, not on the device`);
  }
  return out;
}
