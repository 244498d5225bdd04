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
 * Whether a merge's result equals each side (JSON equality), filled in by the merge itself
 * so a caller never walks the result again to find out. Scratch: each merge of a value
 * overwrites it, and a caller reads it right after the call.
 */
export class Verdict {
  equalsLocal = true;
  equalsRemote = true;

  set(equalsLocal: boolean, equalsRemote: boolean): void {
    this.equalsLocal = equalsLocal;
    this.equalsRemote = equalsRemote;
  }
}

/**
 * Merges two objects field by field against `base` (null: two-way, every field present
 * on one side only is taken). Fields absent from the result were deleted. A result equal
 * to the winner's object is that object itself, not a copy.
 */
export function mergeRecords(
  base: PlainObject | null,
  local: PlainObject,
  remote: PlainObject,
  rules: MergeRules,
  verdict: Verdict,
  path: readonly string[] = [],
  at?: string,
): PlainObject {
  // This object's own path (`path` and `at`), built only if a field is more than a scalar:
  // the nested objects of settings are mostly flat.
  let ownPath = at === undefined ? path : null;
  // Winner's keys first: a deterministic key order whichever side is which.
  const localFirst = rules.winner === "local";
  const first = localFirst ? local : remote;
  const second = localFirst ? remote : local;
  // Copied only once a field differs from the winner's: most nested objects come out
  // unchanged. A copy of the winner has its keys in order and V8's fast layout; building
  // the result key by key would make it a slow hash table after a few dozen fields.
  let out: PlainObject | null = null;
  let equalsFirst = true;
  let equalsSecond = true;
  // for..in reads `first`'s values by slot from V8's enum cache, with no key or value
  // arrays allocated; JSON objects have no inherited enumerable keys.
  let shared = 0;
  for (const key in first) {
    const firstValue = first[key];
    const secondValue = field(second, key);
    if (secondValue !== undefined) shared++;
    // Equal scalars, the common case, need no base and no merge.
    if (firstValue === secondValue) continue;
    const baseValue = field(base, key);
    if (typeof firstValue !== "object" && typeof secondValue !== "object") {
      // Scalars or absent on both sides, the usual field edit: JSON equality is ===, and
      // the value stays the winner's (first's) unless first is the side still at base.
      if (firstValue !== baseValue) {
        equalsSecond = false;
        continue;
      }
      equalsFirst = false;
      out ??= { ...first };
      if (secondValue === undefined) delete out[key];
      else setField(out, key, secondValue);
      continue;
    }
    ownPath ??= extend(path, at);
    const value = localFirst
      ? mergeValue(baseValue, firstValue, secondValue, rules, verdict, ownPath, key)
      : mergeValue(baseValue, secondValue, firstValue, rules, verdict, ownPath, key);
    const toFirst = localFirst ? verdict.equalsLocal : verdict.equalsRemote;
    equalsSecond &&= localFirst ? verdict.equalsRemote : verdict.equalsLocal;
    if (toFirst) continue;
    equalsFirst = false;
    out ??= { ...first };
    if (value === undefined) delete out[key];
    else setField(out, key, value);
  }
  // Two versions of one item nearly always hold the same keys: then `second` has none
  // left to merge, which counting its fields tells without a lookup per key.
  if (definedCount(second) !== shared) {
    for (const key in second) {
      if (Object.hasOwn(first, key)) continue;
      const secondValue = second[key];
      if (secondValue === undefined) continue;
      ownPath ??= extend(path, at);
      const baseValue = field(base, key);
      const value = localFirst
        ? mergeValue(baseValue, undefined, secondValue, rules, verdict, ownPath, key)
        : mergeValue(baseValue, secondValue, undefined, rules, verdict, ownPath, key);
      equalsSecond &&= localFirst ? verdict.equalsRemote : verdict.equalsLocal;
      if (value === undefined) continue;
      equalsFirst = false;
      out ??= { ...first };
      setField(out, key, value);
    }
  }
  if (localFirst) verdict.set(equalsFirst, equalsSecond);
  else verdict.set(equalsSecond, equalsFirst);
  return out ?? first;
}

/**
 * Three-way merge of one value; `undefined` stands for an absent (deleted) field. `key`,
 * when given, names the value inside `path`: the path is built only if a rule needs it.
 * Sets `verdict` to whether the result equals each side.
 */
export function mergeValue(
  base: unknown,
  local: unknown,
  remote: unknown,
  rules: MergeRules,
  verdict: Verdict,
  path: readonly string[],
  key?: string,
): unknown {
  // Objects merge field by field straight away: the walk finds equal sides, or a side
  // equal to base, as it goes, instead of comparing whole subtrees first.
  if (isPlainObject(local) && isPlainObject(remote)) {
    const objectBase = isPlainObject(base) ? base : null;
    return mergeRecords(objectBase, local, remote, rules, verdict, path, key);
  }
  if (jsonEqual(local, remote)) {
    verdict.set(true, true);
    return local;
  }
  if (jsonEqual(local, base)) {
    verdict.set(false, true);
    return remote;
  }
  if (jsonEqual(remote, base)) {
    verdict.set(true, false);
    return local;
  }
  if (rules.list && Array.isArray(local) && Array.isArray(remote)) {
    const merged = rules.list(base, local, remote, extend(path, key));
    if (merged !== undefined) {
      verdict.set(jsonEqual(merged, local), jsonEqual(merged, remote));
      return merged;
    }
  }
  // Both sides changed it to different values: the timestamp winner's stands.
  const localWins = rules.winner === "local";
  verdict.set(localWins, !localWins);
  return localWins ? local : remote;
}

/** `path` and then `key`, if any: by concat, sized exactly (a spread starts with room for 16). */
function extend(path: readonly string[], key: string | undefined): readonly string[] {
  return key === undefined ? path : path.concat(key);
}
