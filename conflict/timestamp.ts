import { canonicalJson } from "./canonical.ts";
import { KEEP_REMOTE, sameContent, TAKE_LOCAL } from "./settle.ts";
import type { MergeInput, MergeOptions, Outcome, Version } from "./types.ts";

/** Which side of a conflict the timestamp rule picks. */
export type Side = "local" | "remote";

/**
 * Last writer wins: the version with the later `modified_at` is kept whole.
 *
 * Ties break on `device_id`: the greater string (UTF-16 code unit order) wins. The same
 * device writing twice in the same millisecond is decided by content, the greater
 * canonical JSON winning and a tombstone counting as the empty string. The rule is a
 * total order, so every server picks the same winner whichever side arrives first.
 *
 * Deletes: a tombstone is a version like any other, so delete-vs-update goes to the
 * later of the two, the delete included. Both deleted, or both identical: `keep_remote`,
 * so nothing is rewritten.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timestamp } from "./timestamp.ts";
 * const local = { data: { theme: "dark" }, deleted: false, modified_at: 2, device_id: "phone" };
 * const remote = { data: null, deleted: true, modified_at: 1, device_id: "laptop" };
 * const outcome = timestamp({ base: null, local, remote }, { setFields: [], dedupeKey: [] });
 * assert.equal(outcome.kind, "take_local");
 * ```
 */
export function timestamp(input: MergeInput, _options: MergeOptions): Outcome {
  if (sameContent(input.local, input.remote)) return KEEP_REMOTE;
  return laterSide(input) === "local" ? TAKE_LOCAL : KEEP_REMOTE;
}

/** The side that wrote last by the timestamp rule (see {@linkcode timestamp}). */
export function laterSide({ local, remote }: Pick<MergeInput, "local" | "remote">): Side {
  return compareVersions(local, remote) > 0 ? "local" : "remote";
}

/** Total order of versions by the timestamp rule: positive when `a` wins over `b`. */
export function compareVersions(a: Version, b: Version): number {
  if (a.modified_at !== b.modified_at) return a.modified_at > b.modified_at ? 1 : -1;
  // Code unit order, not localeCompare: the answer must not depend on the server's locale.
  if (a.device_id !== b.device_id) return a.device_id > b.device_id ? 1 : -1;
  const aKey = contentKey(a);
  const bKey = contentKey(b);
  return aKey === bKey ? 0 : aKey > bKey ? 1 : -1;
}

function contentKey(version: Version): string {
  return version.deleted ? "" : canonicalJson(version.data ?? {});
}
