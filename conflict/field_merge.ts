import { type ListRules, mergeLists, sameValue, valueIdentity } from "./lists.ts";
import { settle, trivialOutcome } from "./settle.ts";
import { mergeRecords, type MergeRules, Verdict } from "./three_way.ts";
import { laterSide, type Side, timestamp } from "./timestamp.ts";
import type { MergeInput, MergeOptions, Outcome } from "./types.ts";

/** How set fields merge, per timestamp winner: built once, not per merge. */
const SET_RULES: Readonly<Record<Side, ListRules>> = Object.freeze({
  local: setRules("local"),
  remote: setRules("remote"),
});

function setRules(winner: Side): ListRules {
  return Object.freeze({
    winner,
    identity: valueIdentity,
    same: sameValue,
    keepRemovals: true,
    combine: (_base: unknown, entry: unknown) => entry,
  });
}

/**
 * Three-way merge of objects against their common `base`, field by field.
 *
 * - A field changed on one side only takes that side's value; a field deleted (absent)
 *   on one side is a change like any other.
 * - A field both sides changed to different values: nested plain objects merge
 *   recursively; top-level fields named in `options.setFields` (e.g. `tags`) merge as
 *   sets (an entry added on either side is kept, one removed on either side stays
 *   removed, the timestamp winner's order first); anything else goes to the
 *   {@linkcode timestamp} winner, which may be an absent field.
 * - `base` null, or a tombstone: two-way, a field present on one side only is taken.
 *
 * Deletes: if only one side changed since `base` (a delete included), that side wins.
 * When one side deleted and the other updated, the whole item goes to the timestamp
 * rule: a delete made after the update removes it, an update made after the delete
 * brings the item back with the updater's data. Both deleted: `keep_remote`.
 *
 * Never returns a `merged` copy of one side: equal to the stored version is
 * `keep_remote`, equal to the incoming one is `take_local`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fieldMerge } from "./field_merge.ts";
 * const at = (data: Record<string, unknown>, modified_at: number) =>
 *   ({ data, deleted: false, modified_at, device_id: "d1" });
 * const outcome = fieldMerge({
 *   base: at({ host: "a", port: 22, tags: ["x"] }, 1),
 *   local: at({ host: "b", port: 22, tags: ["x", "l"] }, 2),
 *   remote: at({ host: "a", port: 2222, tags: ["r"] }, 3),
 * }, { setFields: ["tags"], dedupeKey: [] });
 * assert.deepEqual(outcome, {
 *   kind: "merged",
 *   data: { host: "b", port: 2222, tags: ["r", "l"] },
 *   deleted: false,
 *   modified_at: 3,
 * });
 * ```
 */
export function fieldMerge(input: MergeInput, options: MergeOptions): Outcome {
  const { base, local, remote } = input;
  if (local.deleted || remote.deleted) return trivialOutcome(input) ?? timestamp(input, options);
  const winner = laterSide(input);
  const rules: MergeRules = {
    winner,
    list: (listBase, localList, remoteList, path) =>
      path.length === 1 && options.setFields.includes(path[0])
        ? mergeLists(listBase, localList, remoteList, SET_RULES[winner])
        : undefined,
  };
  const baseData = base && !base.deleted ? base.data : null;
  // No trivialOutcome first: the merge's verdict says whether it equals a side, which is
  // all that check would find (both sides equal, or one equal to base), in one walk.
  const verdict = new Verdict();
  const data = mergeRecords(baseData, local.data ?? {}, remote.data ?? {}, rules, verdict);
  return settle(input, data, verdict);
}
