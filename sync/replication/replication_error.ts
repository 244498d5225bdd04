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

/**
 * What each kind means for the listener; a new kind without an answer fails `deno check`.
 * - `retry`: it may heal by itself, so the stream is tried again after a backoff.
 * - `fault`: no hint reaches anyone until it is fixed (for `slot_missing`: until the slot
 *   is recreated and streams); /ready answers 503 naming it.
 */
const KINDS: Record<ReplicationErrorKind, { retry: boolean; fault: boolean }> = {
  connection_lost: { retry: true, fault: false },
  slot_in_use: { retry: true, fault: false },
  publish_failed: { retry: true, fault: false },
  decode_failed: { retry: true, fault: false },
  lock_lost: { retry: true, fault: false },
  // The listener recreates a dropped slot at once (events are hints; devices catch up).
  slot_missing: { retry: true, fault: true },
  // Retrying these only repeats the failure until someone changes the database.
  slot_lost: { retry: false, fault: true },
  slot_misconfigured: { retry: false, fault: true },
  permission_denied: { retry: false, fault: true },
  // At-least-once prefers another try over a silent stop.
  unknown: { retry: true, fault: false },
};

/** The kinds that stop every hint until they are fixed, for /ready and /metrics. */
export const FAULT_KINDS: readonly ReplicationErrorKind[] = (
  Object.keys(KINDS) as ReplicationErrorKind[]
).filter((kind) => KINDS[kind].fault);

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
  return KINDS[toReplicationError(error).kind].retry;
}

/**
 * True when the failure stops every hint until someone (or, for a dropped slot, the
 * listener itself) fixes it; pure.
 * @example isFault(new ReplicationError("permission_denied", "…")) === true
 */
export function isFault(error: unknown): boolean {
  return KINDS[toReplicationError(error).kind].fault;
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
