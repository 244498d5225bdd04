import { KEEP_REMOTE, sameContent, TAKE_LOCAL } from "./settle.ts";
import type { MergeInput, MergeOptions, Outcome } from "./types.ts";

/**
 * The incoming device always wins, deletes included: a local tombstone deletes the
 * stored item and a local update brings a deleted one back. `base` and clocks are not
 * consulted. Only when both sides already hold the same content (both deleted, say) is
 * the answer `keep_remote`, so no identical version is written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { localPriority } from "./local_priority.ts";
 * const v = (deleted: boolean) =>
 *   ({ data: deleted ? null : { a: 1 }, deleted, modified_at: 1, device_id: "d" });
 * const outcome = localPriority({ base: null, local: v(true), remote: v(false) }, {
 *   setFields: [],
 *   dedupeKey: [],
 * });
 * assert.equal(outcome.kind, "take_local");
 * ```
 */
export function localPriority(input: MergeInput, _options: MergeOptions): Outcome {
  return sameContent(input.local, input.remote) ? KEEP_REMOTE : TAKE_LOCAL;
}
