/**
 * The recursive three-way merge behind `fieldMerge` and `additive`. Every rule here is
 * symmetric in `local` and `remote` (the only asymmetry, `winner`, comes from a total
 * order on the versions), which is what makes both strategies commutative.
 * @module
 */
import { field, isPlainObject, jsonEqual, type PlainObject, setField } from "./canonical.ts";
import type { Side } from "./timestamp.ts";

/** How a merge settles what both sides changed. */
export interface MergeRules {
  /** The side the timestamp rule picks; a field both sides changed takes its value. */
  winner: Side;
  /**
   * Merges a list both sides changed to different arrays at `path`, or returns
   * undefined to leave it to the timestamp rule like any other value.
   */
  list?: (
    base: unknown,
    local: unknown[],
    remote: unknown[],
    path: readonly string[],
  ) => unknown[] | undefined;
}

/**
 * Merges two objects field by field against `base` (null: two-way, every field present
 * on one side only is taken). Fields absent from the result were deleted.
 */
export function mergeRecords(
  base: PlainObject | null,
  local: PlainObject,
  remote: PlainObject,
  rules: MergeRules,
  path: readonly string[] = [],
): PlainObject {
  const out: PlainObject = {};
  // Winner's keys first: a deterministic key order whichever side is which.
  const [first, second] = rules.winner === "local" ? [local, remote] : [remote, local];
  const keys = new Set([...Object.keys(first), ...Object.keys(second)]);
  for (const key of keys) {
    const value = mergeValue(
      field(base, key),
      field(local, key),
      field(remote, key),
      rules,
      [...path, key],
    );
    if (value !== undefined) setField(out, key, value);
  }
  return out;
}

/** Three-way merge of one value; `undefined` stands for an absent (deleted) field. */
export function mergeValue(
  base: unknown,
  local: unknown,
  remote: unknown,
  rules: MergeRules,
  path: readonly string[],
): unknown {
  if (jsonEqual(local, remote)) return local;
  if (jsonEqual(local, base)) return remote;
  if (jsonEqual(remote, base)) return local;
  if (isPlainObject(local) && isPlainObject(remote)) {
    return mergeRecords(isPlainObject(base) ? base : null, local, remote, rules, path);
  }
  if (rules.list && Array.isArray(local) && Array.isArray(remote)) {
    const merged = rules.list(base, local, remote, path);
    if (merged !== undefined) return merged;
  }
  return rules.winner === "local" ? local : remote;
}
