import { validator } from "hono/validator";
import type { z } from "zod";
import { AppError } from "../sync/errors.ts";
import { fieldErrors } from "../sync/change_schema.ts";
import { findUnstorable, MAX_DEPTH } from "../sync/find_unstorable.ts";

/**
 * Parses the JSON body with `schema`; failures are `VALIDATION_FAILED` naming the fields.
 * So is text Postgres cannot store (NUL, lone surrogates) and nesting past the data limit
 * (one level more for the body itself), unless `judgedPerChange`: a push judges its
 * changes one by one (DESIGN.md §5), so one bad change never fails the batch.
 */
export function jsonBody<T extends z.ZodType>(
  schema: T,
  { judgedPerChange = false }: { judgedPerChange?: boolean } = {},
) {
  return validator("json", (value) => {
    const unstorable = judgedPerChange ? null : findUnstorable(value, MAX_DEPTH + 1);
    if (unstorable) {
      throw new AppError("VALIDATION_FAILED", "The request body cannot be stored", {
        fields: { [unstorable.path.join(".") || "body"]: unstorable.reason },
      });
    }
    return parse(schema, value, "The request body");
  });
}

/** Parses the query string with `schema`. */
export function queryParams<T extends z.ZodType>(schema: T) {
  return validator("query", (value) => parse(schema, value, "The query"));
}

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new AppError("VALIDATION_FAILED", `${what} is invalid`, {
      fields: fieldErrors(parsed.error),
    });
  }
  return parsed.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A resource id from the path, lower-cased. A malformed id can name nothing of this
 * user's, so it is the same `NOT_FOUND` as another user's id.
 */
export function pathUuid(id: string, what: string): string {
  if (!UUID.test(id)) throw new AppError("NOT_FOUND", `No such ${what}`);
  return id.toLowerCase();
}
