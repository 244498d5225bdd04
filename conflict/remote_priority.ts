import { KEEP_REMOTE } from "./settle.ts";
import type { MergeInput, MergeOptions, Outcome } from "./types.ts";

/**
 * The stored version always wins, deletes included: a stored tombstone stays deleted
 * and a stored item survives an incoming delete. Always `keep_remote`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { remotePriority } from "./remote_priority.ts";
 * const v = { data: { a: 1 }, deleted: false, modified_at: 1, device_id: "d" };
 * const outcome = remotePriority({ base: null, local: v, remote: v }, {
 *   setFields: [],
 *   dedupeKey: [],
 * });
 * assert.equal(outcome.kind, "keep_remote");
 * ```
 */
export function remotePriority(_input: MergeInput, _options: MergeOptions): Outcome {
  return KEEP_REMOTE;
}
