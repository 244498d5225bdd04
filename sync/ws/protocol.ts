import { changesBetween, decodeSince, encodePosition, type Since, START } from "../cursor.ts";
import { AppError } from "../errors.ts";
import { atCachedHead } from "../cache/at_cached_head.ts";
import { catchUp, catchUpProgress, catchUpTarget, PROGRESS_MIN_CHANGES } from "./catch_up.ts";
import type { Connection } from "./connection.ts";
import type { HubContext } from "./hub_context.ts";
import { type ClientMessage, parseClientMessage } from "./messages.ts";
import { policyOrEvery } from "./policy.ts";
import { dropRevoked } from "./token_check.ts";

/**
 * Answers one client frame (DESIGN.md §6): `hello`, `ack` or `ping`. A bad frame or a
 * failed answer is an `error` message; the socket stays open.
 */
export async function answerClientMessage(
  context: HubContext,
  connection: Connection,
  data: unknown,
): Promise<void> {
  const parsed = parseClientMessage(data);
  context.metrics?.socketMessage("in", parsed.ok ? parsed.message.type : "invalid");
  if (!parsed.ok) return connection.send(parsed.error);
  try {
    await answer(context, connection, parsed.message);
  } catch (error) {
    if (error instanceof AppError) {
      return connection.send({ type: "error", code: error.code, message: error.message });
    }
    context.logger.error("WebSocket message failed", {
      device_id: connection.deviceId,
      type: parsed.message.type,
      error,
    });
    connection.send({ type: "error", code: "INTERNAL", message: "Internal server error" });
  }
}

async function answer(
  context: HubContext,
  connection: Connection,
  message: ClientMessage,
): Promise<void> {
  switch (message.type) {
    case "ping":
      return connection.send({ type: "pong" });
    case "hello":
      return await hello(context, connection, message.cursor);
    case "ack":
      return await ack(context, connection, decodeSince(message.cursor, connection.team, "cursor"));
  }
}

async function hello(
  context: HubContext,
  connection: Connection,
  cursor: string | undefined,
): Promise<void> {
  const since = cursor ? decodeSince(cursor, connection.team, "cursor") : START;
  // must: compare with the heads only once subscribed (to the user's channel and the
  // team's), so a change committed between the read and the subscription still arrives as
  // a live event.
  if (!(await connection.ready)) return;
  const { store, logger, cache } = context;
  if (await atCachedHead(cache, connection.userId, connection.team, since)) {
    return connection.noteCursor(since, { checked: true });
  }
  const policy = await policyOrEvery(store, connection.userId, logger);
  // Throws for a cursor past a head: answered as an error, and never noted as the
  // device's position (a catch-up after a gap would start there and miss changes).
  const hint = await catchUp(store, policy, catchUpTarget(connection), since, cache);
  connection.noteCursor(since, { checked: true });
  if (!hint) return;
  connection.send(hint);
  // A device whose cursor expired pulls from scratch.
  const from = since.expired ? START : since;
  const target = decodeSince(hint.cursor, connection.team, "cursor");
  if (changesBetween(from, target) >= PROGRESS_MIN_CHANGES) {
    connection.catchingUp = { since: from, target };
    connection.send(catchUpProgress(connection.catchingUp, from));
  }
}

async function ack(context: HubContext, connection: Connection, acked: Since): Promise<void> {
  connection.noteCursor(acked);
  if (!(await connection.ready)) return;
  // A device deleted (or registered again) since its socket opened must not announce
  // receipts; its revoke may have been lost in a bus gap.
  if ((await dropRevoked(context.store, [connection])).length === 0) return;
  // must: publish only after the cursor is stored, so receipts never run ahead of it. Both
  // parts are stored (compaction and receipts read them); a cursor of another team says
  // nothing of this one, so only its user part is.
  const { team } = connection;
  const teamPart = team !== null && !acked.expired ? { id: team, seq: acked.team } : undefined;
  await context.store.setDeviceCursor(connection.userId, connection.deviceId, acked.user, teamPart);
  if (acked.expired) return;
  if (connection.catchingUp) {
    connection.send(catchUpProgress(connection.catchingUp, acked));
    if (changesBetween(acked, connection.catchingUp.target) === 0) connection.catchingUp = null;
  }
  await context.publish(connection.userId, {
    type: "ack",
    device_id: connection.deviceId,
    cursor: encodePosition(acked, team),
  });
}
