/**
 * Where the Redis and Upstash adapters report connection trouble they recover from on
 * their own (a dropped socket, a failed reconnect attempt, an ended event stream). Such
 * trouble never reaches a caller; `ping()` is how readiness sees it.
 */
export interface BusLogger {
  warn(message: string, fields: Record<string, unknown>): void;
}

/** The default: recoverable trouble is dropped, `ping()` still reports it. */
export const silentLogger: BusLogger = { warn() {} };
