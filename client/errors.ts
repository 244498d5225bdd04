import type { WireError } from "./wire.ts";

/** An answer of the service in the contract's error shape (or a status without one). */
export class SyncApiError extends Error {
  override name = "SyncApiError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** From `Retry-After`, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** The contract's error object, as a rejected change carries it. */
  toWire(): WireError {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** The service could not be reached, or did not answer in time. */
export class NetworkError extends Error {
  override name = "NetworkError";
}

/**
 * Whether trying the same request again later may succeed: network failures, 5xx, 408
 * and 429. Everything else is an answer about the request itself.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (!(error instanceof SyncApiError)) return false;
  return error.status >= 500 || error.status === 408 || error.status === 429;
}

/** An error's message (or the thrown value as text), for status lines and wrapped errors. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
