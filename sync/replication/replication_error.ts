/** What went wrong with the slot or the stream; decides whether retrying can help. */
export type ReplicationErrorKind =
  /** Network drop, walsender terminated, Postgres restarting. */
  | "connection_lost"
  /** Another walsender still streams the slot (a holder that is just dying). */
  | "slot_in_use"
  /** The bus refused an event: nothing past it was acknowledged. */
  | "publish_failed"
  /** A message the parser could not read; a fresh stream resends relation metadata. */
  | "decode_failed"
  /** The advisory-lock session ended: another instance may take over. */
  | "lock_lost"
  /** wal_status "lost": the WAL the slot needs is gone; an operator must recreate it. */
  | "slot_lost"
  /** The slot was dropped while this instance held it. */
  | "slot_missing"
  /** Wrong plugin, another database, no publication, wal_level below logical. */
  | "slot_misconfigured"
  | "permission_denied"
  | "unknown";

/** Whether a kind heals by itself; a new kind without an answer fails `deno check`. */
const RETRY: Record<ReplicationErrorKind, boolean> = {
  connection_lost: true,
  slot_in_use: true,
  publish_failed: true,
  decode_failed: true,
  lock_lost: true,
  // Retrying these only repeats the failure until someone changes the database.
  slot_lost: false,
  slot_missing: false,
  slot_misconfigured: false,
  permission_denied: false,
  // At-least-once prefers another try over a silent stop.
  unknown: true,
};

/** A typed slot or stream failure. */
export class ReplicationError extends Error {
  constructor(
    readonly kind: ReplicationErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ReplicationError";
  }
}

/**
 * True when the listener should try the stream again after a backoff; pure.
 * @example shouldRetry(new ReplicationError("slot_lost", "…")) === false
 */
export function shouldRetry(error: unknown): boolean {
  return RETRY[toReplicationError(error).kind];
}

/** Classifies anything thrown by pg, the library or the bus by SQLSTATE and message. */
export function toReplicationError(error: unknown): ReplicationError {
  if (error instanceof ReplicationError) return error;
  const code = typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : "";
  const message = error instanceof Error ? error.message : String(error);
  return new ReplicationError(classify(code, message), message, { cause: error });
}

function classify(code: string, message: string): ReplicationErrorKind {
  if (code === "55006") return "slot_in_use";
  if (code === "42501") return "permission_denied";
  if (code === "42704") {
    return /replication slot/i.test(message) ? "slot_missing" : "slot_misconfigured";
  }
  if (code === "55000") {
    return /can no longer get changes|invalidated/i.test(message)
      ? "slot_lost"
      : "slot_misconfigured";
  }
  // 08: connection exception, 57P0x: shutdown/terminated/cannot connect now, 53: resources.
  if (/^(08|57P0|53)/.test(code)) return "connection_lost";
  if (/^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)/.test(code)) {
    return "connection_lost";
  }
  if (/connection (terminated|refused|reset)|socket|timeout|closed/i.test(message)) {
    return "connection_lost";
  }
  return "unknown";
}
