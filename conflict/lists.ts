import { identityKey, jsonEqual } from "./canonical.ts";
import type { Side } from "./timestamp.ts";

/** How {@linkcode mergeLists} treats the entries of two lists. */
export interface ListRules {
  /** The timestamp winner; its entries come first in the result. */
  winner: Side;
  /** Entries with the same identity are one entry. */
  identity: (entry: unknown) => string;
  /** True exactly when `identity` gives `a` and `b` the same string. */
  same: (a: unknown, b: unknown) => boolean;
  /**
   * true: three-way set semantics, an entry of `base` that one side removed stays
   * removed. false: grow-only union, every entry of either side is kept.
   */
  keepRemovals: boolean;
  /** Combines the two sides' entries of one identity, with base's entry if it had one. */
  combine: (base: unknown, local: unknown, remote: unknown) => unknown;
}

/** Lists longer than this are matched through a Map of identity strings. */
const SHORT = 16;

/**
 * Unions two lists without duplicates. Order: the winner's entries in its order, then
 * the other side's new entries in theirs, so swapping the sides changes nothing.
 */
export function mergeLists(
  base: unknown,
  local: readonly unknown[],
  remote: readonly unknown[],
  rules: ListRules,
): unknown[] {
  const baseList = Array.isArray(base) ? base : [];
  const byId = baseList.length > SHORT || local.length > SHORT || remote.length > SHORT;
  const baseEntries = new Entries(baseList, rules, byId);
  const localEntries = new Entries(local, rules, byId);
  const remoteEntries = new Entries(remote, rules, byId);
  const localFirst = rules.winner === "local";
  const first = localFirst ? localEntries : remoteEntries;
  const second = localFirst ? remoteEntries : localEntries;
  const out: unknown[] = [];
  for (let i = 0; i < first.values.length; i++) {
    const inSecond = second.find(first, i);
    const inBase = baseEntries.find(first, i);
    if (inSecond >= 0) {
      out.push(rules.combine(
        inBase >= 0 ? baseEntries.values[inBase] : undefined,
        localEntries.values[localFirst ? i : inSecond],
        remoteEntries.values[localFirst ? inSecond : i],
      ));
    } else if (!rules.keepRemovals || inBase < 0) {
      out.push(first.values[i]);
    }
  }
  for (let i = 0; i < second.values.length; i++) {
    if (first.find(second, i) >= 0) continue;
    if (!rules.keepRemovals || baseEntries.find(second, i) < 0) out.push(second.values[i]);
  }
  return out;
}

/** Identity by value, as canonical JSON: `{a, b}` and `{b, a}` are one entry. */
export const valueIdentity: (entry: unknown) => string = identityKey;

/** {@linkcode valueIdentity} as a comparison, without building the strings. */
export const sameValue: (a: unknown, b: unknown) => boolean = jsonEqual;

/**
 * A list's entries by identity, its own duplicates collapsed to their first occurrence.
 * Short lists (tags, a few paths) are compared in place with `same`: cheaper than
 * building an identity string per entry and hashing it into a Map, which long lists
 * (history) still get.
 */
class Entries {
  readonly values: readonly unknown[];
  readonly #rules: ListRules;
  readonly #ids: string[] | null;
  readonly #index: Map<string, number> | null;

  constructor(list: readonly unknown[], rules: ListRules, byId: boolean) {
    this.#rules = rules;
    this.#ids = byId ? [] : null;
    this.#index = byId ? new Map() : null;
    // A short list without duplicates, the usual case, serves as it is: no copy.
    if (!byId && !hasDuplicates(list, rules.same)) {
      this.values = list;
      return;
    }
    const values: unknown[] = [];
    this.values = values;
    for (const entry of list) {
      if (this.#ids && this.#index) {
        const id = rules.identity(entry);
        if (this.#index.has(id)) continue;
        this.#index.set(id, this.#ids.length);
        this.#ids.push(id);
      } else if (this.#indexOfEntry(entry) >= 0) continue;
      values.push(entry);
    }
  }

  /** Where `other`'s entry `at` is here, or -1; both built with the same `byId`. */
  find(other: Entries, at: number): number {
    if (this.#index && other.#ids) return this.#index.get(other.#ids[at]) ?? -1;
    return this.#indexOfEntry(other.values[at]);
  }

  #indexOfEntry(entry: unknown): number {
    for (let i = 0; i < this.values.length; i++) {
      if (this.#rules.same(this.values[i], entry)) return i;
    }
    return -1;
  }
}

function hasDuplicates(list: readonly unknown[], same: ListRules["same"]): boolean {
  for (let i = 1; i < list.length; i++) {
    for (let j = 0; j < i; j++) if (same(list[j], list[i])) return true;
  }
  return false;
}
