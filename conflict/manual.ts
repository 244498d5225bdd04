import { MANUAL, trivialOutcome } from "./settle.ts";
import type { MergeInput, MergeOptions, Outcome } from "./types.ts";

/**
 * Leaves the decision to the user: `manual` (the service stores a conflict with both
 * versions and leaves the item as it is until it is resolved), for deletes as for
 * updates.
 *
 * Only real conflicts are put to the user: both sides holding the same content (both
 * deleted, say) is `keep_remote`, and when only one side changed since `base` that side
 * wins (`keep_remote` or `take_local`) as it would in any strategy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manual } from "./manual.ts";
 * const at = (a: number, modified_at: number) =>
 *   ({ data: { a }, deleted: false, modified_at, device_id: "d" });
 * const outcome = manual({ base: at(0, 0), local: at(1, 1), remote: at(2, 2) }, {
 *   setFields: [],
 *   dedupeKey: [],
 * });
 * assert.equal(outcome.kind, "manual");
 * ```
 */
export function manual(input: MergeInput, _options: MergeOptions): Outcome {
  return trivialOutcome(input) ?? MANUAL;
}
