import { z } from "zod";

/** The one subprotocol the server speaks and echoes (DESIGN.md §6); never the token. */
export const WS_PROTOCOL = "devpocket.sync.v1";

/** Prefix of the subprotocol entry that carries the device token. */
export const WS_BEARER_PREFIX = "bearer.";

/** Close codes of the contract, plus the standard ones the hub uses. */
export const WS_CLOSE = {
  /** Bad, missing or revoked device token (contract). */
  unauthorized: 4401,
  /** The client sends more messages than allowed (contract). */
  rateLimited: 4429,
  /** Shutdown: reconnect, perhaps to another instance (contract). */
  restarting: 1012,
  /** The socket reads slower than events arrive: reconnect and resume from the cursor. */
  slowConsumer: 1013,
  /** The instance cannot serve this user now (bus subscription failed). */
  internal: 1011,
} as const;

/** What the server sends (DESIGN.md §6). */
export type ServerMessage =
  | {
    type: "sync_data_available";
    cursor: string;
    collections: string[];
    origin_device_id: string | null;
  }
  | { type: "sync_conflict"; conflict_id: string; collection: string; item_id: string }
  | { type: "sync_progress"; operation: string; done: number; total: number }
  | { type: "sync_completed"; device_id: string; cursor: string }
  | { type: "device_status"; device_id: string; status: "online" | "offline" | "revoked" }
  | { type: "pong" }
  | { type: "error"; code: string; message: string };

const Cursor = z.string().max(64);

/**
 * What a client may send. Unknown fields are ignored so an older server accepts a newer
 * client's messages; unknown types are an `error` message, not a close.
 */
export const ClientMessage = z.discriminatedUnion("type", [
  // A device that never synced may say hello without a cursor: it is behind from zero.
  z.object({ type: z.literal("hello"), cursor: Cursor.optional() }),
  z.object({ type: z.literal("ack"), cursor: Cursor }),
  z.object({ type: z.literal("ping") }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Longest client message accepted; every valid one is far shorter. */
export const MAX_CLIENT_MESSAGE_CHARS = 4096;

/**
 * Parses one text frame. Failures come back as the `error` message to send, so one bad
 * message never closes the socket.
 * @example parseClientMessage('{"type":"ping"}') // { ok: true, message: { type: "ping" } }
 */
export function parseClientMessage(
  data: unknown,
): { ok: true; message: ClientMessage } | { ok: false; error: ServerMessage & { type: "error" } } {
  const fail = (code: string, message: string) =>
    ({ ok: false, error: { type: "error", code, message } }) as const;
  if (typeof data !== "string") return fail("VALIDATION_FAILED", "Messages must be JSON text");
  if (data.length > MAX_CLIENT_MESSAGE_CHARS) {
    return fail(
      "PAYLOAD_TOO_LARGE",
      `Messages must be at most ${MAX_CLIENT_MESSAGE_CHARS} characters: got ${data.length}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return fail("VALIDATION_FAILED", "The message is not valid JSON");
  }
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) {
    const type = (json as { type?: unknown } | null)?.type;
    return fail(
      "VALIDATION_FAILED",
      typeof type === "string" && !["hello", "ack", "ping"].includes(type)
        ? `Unknown message type: ${JSON.stringify(type).slice(0, 80)}`
        : "The message must be {type:'hello',cursor?} | {type:'ack',cursor} | {type:'ping'}",
    );
  }
  return { ok: true, message: parsed.data };
}
