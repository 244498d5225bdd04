/** Every error code of the wire contract (DESIGN.md §3). */
export type ErrorCode =
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "VALIDATION_FAILED"
  | "PAYLOAD_TOO_LARGE"
  | "SYNC_CONFLICT_DETECTED"
  | "SYNC_SUBSCRIPTION_EXPIRED"
  | "SYNC_RATE_LIMITED"
  | "SYNC_DEVICE_LIMIT_EXCEEDED"
  | "SYNC_DATA_CORRUPTION"
  | "SYNC_CURSOR_EXPIRED"
  | "METHOD_NOT_ALLOWED";

/** HTTP status of each code; a new code without a status fails `deno check`. */
export const STATUS: Record<ErrorCode, number> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VALIDATION_FAILED: 422,
  PAYLOAD_TOO_LARGE: 413,
  SYNC_CONFLICT_DETECTED: 409,
  SYNC_SUBSCRIPTION_EXPIRED: 402,
  SYNC_RATE_LIMITED: 429,
  SYNC_DEVICE_LIMIT_EXCEEDED: 403,
  SYNC_DATA_CORRUPTION: 422,
  SYNC_CURSOR_EXPIRED: 410,
  // Not in the contract's table yet: a known path asked with a method it does not serve.
  METHOD_NOT_ALLOWED: 405,
};

/** Every code, for schemas and documents. */
export const ERROR_CODES = Object.keys(STATUS) as [ErrorCode, ...ErrorCode[]];

/** A domain error that routes map to the contract's JSON error shape. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return STATUS[this.code];
  }
}
