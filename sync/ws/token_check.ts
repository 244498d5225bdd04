import type { SyncStore } from "../sync_store.ts";
import { syncedTeam } from "../teams.ts";
import type { Connection } from "./connection.ts";

/**
 * Closes the connections whose token no longer works (4401): the device was deleted, or
 * registered again with its install_id and so has a new token; and asks those whose user's
 * team changed since they opened to reconnect (1012), so they subscribe to the team they
 * now sync. One lookup per distinct token. Resolves with the connections that stay open;
 * rejects, closing none, when the store cannot answer.
 */
export async function dropRevoked(
  store: Pick<SyncStore, "findDeviceByTokenHash">,
  connections: readonly Connection[],
): Promise<Connection[]> {
  const hashes = [...new Set(connections.map((c) => c.tokenHash))];
  const owners = new Map(
    await Promise.all(
      hashes.map(async (hash) => [hash, await store.findDeviceByTokenHash(hash)] as const),
    ),
  );
  return connections.filter((connection) => {
    const found = owners.get(connection.tokenHash);
    if (found?.device.id !== connection.deviceId) {
      connection.revoke();
      return false;
    }
    if (syncedTeam(found.account) !== connection.team) {
      connection.reconnect();
      return false;
    }
    return true;
  });
}
