/**
 * The recursive three-way merge behind `fieldMerge` and `additive`. Every rule here is
 * symmetric in `local` and `remote` (the only asymmetry, `winner`, comes from a total
 * order on the versions), which is what makes both strategies commutative.
 * @module
 */
import {
  definedCount,
  field,
  isPlainObject,
  jsonEqual,
  type PlainObject,
  setField,
} from "./canonical.ts";
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
  // Winner's keys first: a deterministic key order whichever side is which.
  const localFirst = rules.winner === "local";
  const first = localFirst ? local : remote;
  const second = localFirst ? remote : local;
  // A copy of the winner has its keys in order and V8's fast layout; building the result
  // key by key would make it a slow hash table after a few dozen fields.
  const out: PlainObject = { ...first };
  // for..in reads `first`'s values by slot from V8's enum cache, with no key or value
  // arrays allocated; JSON objects have no inherited enumerable keys.
  let shared = 0;
  for (const key in first) {
    const firstValue = first[key];
    const secondValue = field(second, key);
    if (secondValue !== undefined) shared++;
    if (localFirst) mergeField(out, key, true, firstValue, secondValue, base, rules, path);
    else mergeField(out, key, true, secondValue, firstValue, base, rules, path);
  }
  // Two versions of one item nearly always hold the same keys: then `second` has none
  // left to merge, which counting its fields tells without a lookup per key.
  if (definedCount(second) === shared) return out;
  for (const key in second) {
    if (Object.hasOwn(first, key)) continue;
    mergeField(out, key, false, field(local, key), field(remote, key), base, rules, path);
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
  return mergeChanged(base, local, remote, rules, path);
}

/** {@linkcode mergeValue} of one field into `out`; its path is built only for a real conflict. */
function mergeField(
  out: PlainObject,
  key: string,
  inOut: boolean,
  localValue: unknown,
  remoteValue: unknown,
  base: PlainObject | null,
  rules: MergeRules,
  path: readonly string[],
): void {
  let value: unknown;
  if (jsonEqual(localValue, remoteValue)) value = localValue;
  else {
    const baseValue = field(base, key);
    if (jsonEqual(localValue, baseValue)) value = remoteValue;
    else if (jsonEqual(remoteValue, baseValue)) value = localValue;
    else value = mergeChanged(baseValue, localValue, remoteValue, rules, [...path, key]);
  }
  // `out` is a copy of the winner: only a key it lacks or a value it does not hold changes.
  if (value === undefined) {
    if (inOut) delete out[key];
  } else if (!inOut || value !== (rules.winner === "local" ? localValue : remoteValue)) {
    setField(out, key, value);
  }
}

/** Both sides changed the value since `base`, to different values. */
function mergeChanged(
  base: unknown,
  local: unknown,
  remote: unknown,
  rules: MergeRules,
  path: readonly string[],
): unknown {
  if (isPlainObject(local) && isPlainObject(remote)) {
    return mergeRecords(isPlainObject(base) ? base : null, local, remote, rules, path);
  }
  if (rules.list && Array.isArray(local) && Array.isArray(remote)) {
    const merged = rules.list(base, local, remote, path);
    if (merged !== undefined) return merged;
  }
  return rules.winner === "local" ? local : remote;
}
