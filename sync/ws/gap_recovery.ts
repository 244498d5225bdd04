import { catchUp, catchUpTarget } from "./catch_up.ts";
import type { Connection } from "./connection.ts";
import type { HubContext } from "./hub_context.ts";
import { policyOrEvery } from "./policy.ts";
import { dropRevoked } from "./token_check.ts";
import type { UserSockets } from "./user_sockets.ts";

/**
 * After some of a user's events may have been lost (the channel subscribed again after a
 * bus gap, or the replication slot recreated): first closes the sockets whose token stopped
 * working meanwhile (their revoke may be among what was lost), then catches every other one
 * up from its cursor as on `hello`, each in its reply order.
 */
export function recoverAfterGap(context: HubContext, user: UserSockets): void {
  const connections = [...user.connections];
  if (connections.length === 0) return;
  const kept = context.track(
    dropRevoked(context.store, connections).catch((error) => {
      context.logger.warn("Re-checking the devices of sockets after a gap failed", {
        user_id: user.userId,
        error,
      });
      return connections;
    }),
  );
  for (const connection of connections) {
    void context.track(connection.enqueue(async () => {
      if ((await kept).includes(connection)) await catchUpConnection(context, connection);
    }));
  }
}

async function catchUpConnection(context: HubContext, connection: Connection): Promise<void> {
  // Before its hello the device has said nothing to catch up from; its hello will.
  if (connection.cursor === null || !(await connection.ready)) return;
  const { store, logger } = context;
  try {
    // must: read the head only now, once subscribed again, as on hello.
    const policy = await policyOrEvery(store, connection.userId, logger);
    const hint = await catchUp(store, policy, catchUpTarget(connection), connection.cursor);
    if (hint) connection.send(hint);
  } catch (error) {
    // A lost hint costs latency, never data: the device pulls by cursor when it reconnects.
    logger.warn("Catching up a socket after a gap failed", {
      device_id: connection.deviceId,
      error,
    });
  }
}
