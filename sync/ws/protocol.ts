import { decodeCursor, encodeCursor } from "../cursor.ts";
import { AppError } from "../errors.ts";
import { atCachedHead, catchUp, catchUpProgress, PROGRESS_MIN_CHANGES } from "./catch_up.ts";
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
      return await ack(context, connection, decodeCursor(message.cursor, "cursor"));
  }
}

async function hello(
  context: HubContext,
  connection: Connection,
  cursor: string | undefined,
): Promise<void> {
  const since = cursor ? decodeCursor(cursor, "cursor") : 0;
  // must: compare with the head only once subscribed, so a change committed between the
  // read and the subscription still arrives as a live event.
  if (!(await connection.ready)) return;
  const { store, logger, cache } = context;
  if (await atCachedHead(cache, connection.userId, since)) return connection.noteCursor(since);
  const policy = await policyOrEvery(store, connection.userId, logger);
  const who = { userId: connection.userId, deviceId: connection.deviceId };
  // Throws for a cursor past the head: answered as an error, and never noted as the
  // device's position (a catch-up after a gap would start there and miss changes).
  const hint = await catchUp(store, policy, who, since, cache);
  connection.noteCursor(since);
  if (!hint) return;
  connection.send(hint);
  const target = decodeCursor(hint.cursor, "cursor");
  if (target - since >= PROGRESS_MIN_CHANGES) {
    connection.catchingUp = { since, target };
    connection.send(catchUpProgress(connection.catchingUp, since));
  }
}

async function ack(context: HubContext, connection: Connection, seq: number): Promise<void> {
  connection.noteCursor(seq);
  if (!(await connection.ready)) return;
  // A device deleted (or registered again) since its socket opened must not announce
  // receipts; its revoke may have been lost in a bus gap.
  if ((await dropRevoked(context.store, [connection])).length === 0) return;
  // must: publish only after the cursor is stored, so receipts never run ahead of it.
  await context.store.setDeviceCursor(connection.userId, connection.deviceId, seq);
  if (connection.catchingUp) {
    connection.send(catchUpProgress(connection.catchingUp, seq));
    if (seq >= connection.catchingUp.target) connection.catchingUp = null;
  }
  await context.publish(connection.userId, {
    type: "ack",
    device_id: connection.deviceId,
    cursor: encodeCursor(seq),
  });
}
