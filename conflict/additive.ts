import {
  canonicalJson,
  field,
  identityKey,
  isPlainObject,
  jsonEqual,
  type PlainObject,
} from "./canonical.ts";
import { mergeLists } from "./lists.ts";
import { KEEP_REMOTE, settle, TAKE_LOCAL, trivialOutcome } from "./settle.ts";
import { mergeRecords, type MergeRules, mergeValue, Verdict } from "./three_way.ts";
import { laterSide, timestamp } from "./timestamp.ts";
import type { MergeInput, MergeOptions, Outcome } from "./types.ts";

/**
 * Grow-only merge for append-style data such as command history: entries are unioned,
 * never dropped by a conflict.
 *
 * - Lists (at any depth) that both sides changed become the union of their entries,
 *   duplicates removed by value (objects by canonical JSON). An entry removed on one
 *   side while the other side also changed the list comes back; a removal on one side
 *   alone is kept, as in every strategy.
 * - Objects in a list whose `options.dedupeKey` fields (e.g. `command`, `session_id`)
 *   are equal are one entry, their fields merged by these same rules.
 * - Other fields merge as in {@linkcode fieldMerge}: one-sided changes taken, nested
 *   objects recursively, two-sided changes to the {@linkcode timestamp} winner.
 * - Two versions whose `dedupeKey` fields differ are different entries that landed on
 *   one id; mixing their fields would invent an entry, so the timestamp winner is kept
 *   whole.
 *
 * Deletes: a tombstone beats a concurrent update, whatever the clocks say, so an update
 * never resurrects an entry the user deleted, that a `history_rules` expiry removed or
 * that was redacted for leaking a secret. (A device that saw the delete and re-creates
 * the entry writes on top of the tombstone, a fast-forward, not a conflict.) If only one
 * side changed since `base`, that side wins as usual. Both deleted: `keep_remote`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { additive } from "./additive.ts";
 * const at = (data: Record<string, unknown>, modified_at: number) =>
 *   ({ data, deleted: false, modified_at, device_id: "d1" });
 * const outcome = additive({
 *   base: at({ command: "ls", session_id: "s", tags: ["a"] }, 1),
 *   local: at({ command: "ls", session_id: "s", tags: ["a", "l"], exit_code: 0 }, 2),
 *   remote: at({ command: "ls", session_id: "s", tags: ["r"] }, 3),
 * }, { setFields: [], dedupeKey: ["command", "session_id"] });
 * assert.deepEqual(outcome, {
 *   kind: "merged",
 *   data: { command: "ls", session_id: "s", tags: ["r", "a", "l"], exit_code: 0 },
 *   deleted: false,
 *   modified_at: 3,
 * });
 * ```
 */
export function additive(input: MergeInput, options: MergeOptions): Outcome {
  const { base, local, remote } = input;
  if (local.deleted || remote.deleted) {
    return trivialOutcome(input) ?? (local.deleted ? TAKE_LOCAL : KEEP_REMOTE);
  }
  const localData = local.data ?? {};
  const remoteData = remote.data ?? {};
  const localKey = entryKey(localData, options.dedupeKey);
  const remoteKey = entryKey(remoteData, options.dedupeKey);
  if (localKey !== undefined && remoteKey !== undefined && !jsonEqual(localKey, remoteKey)) {
    return trivialOutcome(input) ?? timestamp(input, options);
  }
  const winner = laterSide(input);
  const verdict = new Verdict();
  const rules: MergeRules = {
    winner,
    list: (listBase, localList, remoteList, path) =>
      mergeLists(listBase, localList, remoteList, {
        winner,
        identity: (entry) => {
          const key = isPlainObject(entry) ? entryKey(entry, options.dedupeKey) : undefined;
          return key === undefined ? `v${identityKey(entry)}` : `k${canonicalJson(key)}`;
        },
        same: (a, b) => sameEntry(a, b, options.dedupeKey),
        keepRemovals: false,
        combine: (entryBase, localEntry, remoteEntry) =>
          mergeValue(entryBase, localEntry, remoteEntry, rules, verdict, path),
      }),
  };
  const baseData = base && !base.deleted ? base.data : null;
  // No trivialOutcome first: the merge's verdict says whether it equals a side, which is
  // all that check would find (both sides equal, or one equal to base), in one walk.
  return settle(input, mergeRecords(baseData, localData, remoteData, rules, verdict), verdict);
}

/** The values of the dedupe key fields, or undefined when the key is empty or incomplete. */
function entryKey(data: PlainObject, dedupeKey: readonly string[]): unknown[] | undefined {
  if (dedupeKey.length === 0) return undefined;
  const values = dedupeKey.map((name) => field(data, name));
  return values.includes(undefined) ? undefined : values;
}

/** {@linkcode mergeLists}' identity of `additive` as a comparison: no strings built. */
function sameEntry(a: unknown, b: unknown, dedupeKey: readonly string[]): boolean {
  const keyed = isKeyed(a, dedupeKey);
  if (keyed !== isKeyed(b, dedupeKey)) return false;
  if (!keyed) return jsonEqual(a, b);
  for (const name of dedupeKey) {
    if (!jsonEqual(field(a as PlainObject, name), field(b as PlainObject, name))) return false;
  }
  return true;
}

/** A record holding every dedupe key field: deduplicated by them, not by its value. */
function isKeyed(entry: unknown, dedupeKey: readonly string[]): boolean {
  if (dedupeKey.length === 0 || !isPlainObject(entry)) return false;
  for (const name of dedupeKey) if (field(entry, name) === undefined) return false;
  return true;
}
