import { type Logger, SILENT_LOGGER } from "../logger.ts";

/**
 * Where the Redis and Upstash adapters report connection trouble they recover from on
 * their own (a dropped socket, a failed reconnect attempt, an ended event stream). Such
 * trouble never reaches a caller; `ping()` is how readiness sees it.
 */
export type BusLogger = Pick<Logger, "warn">;

/** The default: recoverable trouble is dropped, `ping()` still reports it. */
export const silentLogger: BusLogger = SILENT_LOGGER;
