import { z } from "zod";
import { COLLECTIONS } from "./collections.ts";
import { SinceCursor } from "./cursor.ts";

/** Item ids are chosen by clients: a UUID or a stable key such as a settings namespace. */
export const ItemId = z.string().regex(
  /^[A-Za-z0-9._:-]{1,128}$/,
  "must be 1-128 chars of [A-Za-z0-9._:-]",
);

/** One change as a device uploads it; strict, so a misspelt key is an error, not a no-op. */
export const Change = z.strictObject({
  change_id: z.guid(),
  collection: z.enum(COLLECTIONS),
  id: ItemId,
  op: z.enum(["upsert", "delete"]),
  data: z.record(z.string(), z.unknown()).optional(),
  // Versions are Postgres integers: a larger base_version names no version that exists.
  base_version: z.number().int().min(1).max(2_147_483_647).nullable(),
  modified_at: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  checksum: z.string().regex(/^[0-9a-f]{64}$/, "must be lower-case sha256 hex").optional(),
}).superRefine((change, ctx) => {
  if (change.op === "upsert" && change.data === undefined) {
    ctx.addIssue({ code: "custom", path: ["data"], message: "is required for an upsert" });
  }
  if (change.op === "delete" && change.data !== undefined) {
    ctx.addIssue({ code: "custom", path: ["data"], message: "must be absent for a delete" });
  }
});
export type Change = z.infer<typeof Change>;

/** The push body; each change is validated on its own so one bad change fails alone. */
export const PushBody = z.strictObject({
  changes: z.array(z.unknown()).min(1, "must hold at least 1 change").max(
    500,
    "must hold at most 500 changes",
  ),
});

export const PullQuery = z.strictObject({
  since: SinceCursor.optional(),
  collections: z.string().max(200).optional().meta({
    description: `Comma-separated, among ${COLLECTIONS.join(", ")}; absent: all`,
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

/** `{ "data.port": "Too big" }` from a zod error: the field paths a client can act on. */
export function fieldErrors(error: z.ZodError, prefix = ""): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || "body";
    fields[path] ??= issue.message;
  }
  return fields;
}
