import type { SyncStore } from "../sync_store.ts";
import type { Connection } from "./connection.ts";

/**
 * Closes (4401) the connections whose token no longer works: the device was deleted, or
 * registered again with its install_id and so has a new token. One lookup per distinct
 * token. Resolves with the connections that stay open; rejects, closing none, when the
 * store cannot answer.
 */
export async function dropRevoked(
  store: Pick<SyncStore, "findDeviceByTokenHash">,
  connections: readonly Connection[],
): Promise<Connection[]> {
  const hashes = [...new Set(connections.map((c) => c.tokenHash))];
  const owners = new Map(
    await Promise.all(
      hashes.map(async (hash) =>
        [hash, (await store.findDeviceByTokenHash(hash))?.device.id ?? null] as const
      ),
    ),
  );
  return connections.filter((connection) => {
    if (owners.get(connection.tokenHash) === connection.deviceId) return true;
    connection.revoke();
    return false;
  });
}
