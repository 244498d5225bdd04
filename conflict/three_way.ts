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
  // Winner's keys first: a deterministic key order whichever side is which.
  const [first, second] = rules.winner === "local" ? [local, remote] : [remote, local];
  const firstKeys = Object.keys(first);
  const secondKeys = Object.keys(second);
  // A copy of the winner has its keys in order and V8's fast layout; building the result
  // key by key would make it a slow hash table after a few dozen fields.
  const out: PlainObject = { ...first };
  const localFirst = rules.winner === "local";
  if (sameOrder(firstKeys, secondKeys)) {
    // Two versions of one item nearly always list the same keys in the same order: then
    // both sides' values come by position, without a lookup by name (a shape or hash
    // table search each).
    const firstValues = Object.values(first);
    const secondValues = Object.values(second);
    const [localValues, remoteValues] = localFirst
      ? [firstValues, secondValues]
      : [secondValues, firstValues];
    for (let i = 0; i < firstKeys.length; i++) {
      mergeField(out, firstKeys[i], true, localValues[i], remoteValues[i], base, rules, path);
    }
    return out;
  }
  for (const key of firstKeys) {
    mergeField(out, key, true, field(local, key), field(remote, key), base, rules, path);
  }
  for (const key of secondKeys) {
    if (Object.hasOwn(first, key)) continue;
    mergeField(out, key, false, field(local, key), field(remote, key), base, rules, path);
  }
  return out;
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
