import type { SyncEvent } from "../events.ts";
import type { Connection } from "./connection.ts";
import { eventMessage, needsPolicy } from "./event_message.ts";
import type { HubContext } from "./hub_context.ts";
import { dropRevoked } from "./token_check.ts";
import type { UserSockets } from "./user_sockets.ts";

/**
 * Delivers one bus event to the user's sockets on this instance, as `eventMessage` says.
 * `teamChannel`: the team whose channel the event came from (null: the user's own).
 */
export async function dispatchEvent(
  context: HubContext,
  user: UserSockets,
  event: SyncEvent,
  teamChannel: string | null = null,
): Promise<void> {
  if (user.connections.size === 0) return;
  const policy = needsPolicy(event) ? await user.policy.get(event) : null;
  const recheck: Connection[] = [];
  for (const connection of user.connections) {
    const source = { teamChannel, team: connection.team };
    const delivery = eventMessage(event, connection.deviceId, policy, source);
    if (delivery?.kind === "send") connection.send(delivery.message, { live: true });
    else if (delivery?.kind === "revoke") connection.revoke();
    else if (delivery?.kind === "reconnect") connection.reconnect();
    else if (delivery?.kind === "recheck") recheck.push(connection);
  }
  if (recheck.length > 0) await dropRevoked(context.store, recheck);
}
