import { SPECS } from "./collections.ts";
import { Change, fieldErrors } from "./change_schema.ts";
import { canonicalJson } from "../conflict/canonical.ts";
import { sha256Hex, sha256Uuid } from "./hashing.ts";
import { findUnstorable } from "./find_unstorable.ts";
import type { PreparedChange } from "./push_planner.ts";
import { containsPrivateKey } from "./privacy/private_key.ts";
import { SYNC_SETTINGS_ID, SyncSettings } from "./sync_settings.ts";

/**
 * The checks a change needs no stored state for: envelope, storable data, key material,
 * checksum, collection schema. A failure rejects this change alone (DESIGN.md §5).
 */
export function prepareChange(raw: unknown): PreparedChange {
  const changeId =
    raw && typeof raw === "object" && typeof (raw as { change_id?: unknown }).change_id === "string"
      ? (raw as { change_id: string }).change_id
      : null;
  const fail = (
    code: "VALIDATION_FAILED" | "SYNC_DATA_CORRUPTION",
    message: string,
    fields?: Record<string, string>,
  ) =>
    ({
      ok: false,
      change_id: changeId,
      error: { code, message, ...(fields && { details: { fields } }) },
    }) as const;

  const envelope = Change.safeParse(raw);
  if (!envelope.success) {
    return fail("VALIDATION_FAILED", "The change is malformed", fieldErrors(envelope.error));
  }
  const change = envelope.data;
  if (change.op === "delete") return { ok: true, change, dedupeKey: null };

  // must: before every recursive walk below (key search, canonical JSON, zod's z.json()),
  // which hostile nesting would overflow. The data as received, not zod's copy of it:
  // z.record drops a `__proto__` key without a word.
  const unstorable = findUnstorable((raw as { data: unknown }).data);
  if (unstorable) {
    return fail("VALIDATION_FAILED", "The data cannot be stored", {
      [["data", ...unstorable.path].join(".")]: unstorable.reason,
    });
  }
  const spec = SPECS[change.collection];
  if (spec.holdsKeys && containsPrivateKey(change.data)) {
    // The message never echoes the value: it is a secret.
    return fail(
      "VALIDATION_FAILED",
      `Private key material is never accepted in ${change.collection}`,
      {
        data: "contains private key material",
      },
    );
  }
  if (change.checksum && change.checksum !== sha256Hex(canonicalJson(change.data))) {
    return fail("SYNC_DATA_CORRUPTION", "The checksum does not match the data as received", {
      checksum: "sha256 of the canonical JSON of data does not match",
    });
  }
  const data = spec.schema.safeParse(change.data);
  if (!data.success) {
    return fail(
      "VALIDATION_FAILED",
      `The data is not a valid ${change.collection} item`,
      fieldErrors(data.error, "data"),
    );
  }
  if (change.collection === "settings" && change.id === SYNC_SETTINGS_ID) {
    const settings = SyncSettings.safeParse(data.data);
    if (!settings.success) {
      return fail(
        "VALIDATION_FAILED",
        "The sync settings are invalid",
        fieldErrors(settings.error, "data"),
      );
    }
  }
  const validated = { ...change, data: data.data };
  const dedupeKey = change.collection === "commands"
    // canonicalJson([command, session_id]), spelled out: both are strings.
    ? sha256Uuid(`[${JSON.stringify(data.data.command)},${JSON.stringify(data.data.session_id)}]`)
    : null;
  return { ok: true, change: validated, dedupeKey };
}
