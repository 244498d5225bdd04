import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ErrorBody } from "../sync/api_schemas.ts";
import { AppError } from "../sync/errors.ts";
import type { Logger } from "../sync/logger.ts";

/** The contract's error body (DESIGN.md §3). */
export function errorBody(error: AppError): ErrorBody {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

/**
 * The one place errors become responses: domain errors keep their code, framework
 * errors get the nearest contract code, anything else is a logged 500 with no internals.
 */
export function errorHandler(logger: Logger) {
  return (error: Error, c: Context): Response => {
    const appError = toAppError(error);
    if (!appError) {
      logger.error("Unhandled error", { method: c.req.method, path: c.req.path, error });
      return c.json(
        { error: { code: "INTERNAL", message: "Internal server error", details: {} } },
        500,
      );
    }
    if (appError.code === "SYNC_RATE_LIMITED" && typeof appError.details.retry_after === "number") {
      c.header("Retry-After", String(appError.details.retry_after));
    }
    return c.json(errorBody(appError), appError.status as 400);
  };
}

function toAppError(error: Error): AppError | null {
  if (error instanceof AppError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 413) {
      return new AppError("PAYLOAD_TOO_LARGE", "The request body is too large");
    }
    if (error.status === 400) {
      return new AppError("VALIDATION_FAILED", "The request body is not valid JSON", {
        fields: { body: "malformed JSON" },
      });
    }
    if (error.status === 401) return new AppError("UNAUTHORIZED", error.message || "Unauthorized");
  }
  return null;
}
