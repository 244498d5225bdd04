import { identityKey } from "./canonical.ts";
import type { Side } from "./timestamp.ts";

/** How {@linkcode mergeLists} treats the entries of two lists. */
export interface ListRules {
  /** The timestamp winner; its entries come first in the result. */
  winner: Side;
  /** Entries with the same identity are one entry. */
  identity: (entry: unknown) => string;
  /**
   * true: three-way set semantics, an entry of `base` that one side removed stays
   * removed. false: grow-only union, every entry of either side is kept.
   */
  keepRemovals: boolean;
  /** Combines the two sides' entries of one identity, with base's entry if it had one. */
  combine: (base: unknown, local: unknown, remote: unknown) => unknown;
}

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
  const baseById = new Entries(Array.isArray(base) ? base : [], rules.identity);
  const localById = new Entries(local, rules.identity);
  const remoteById = new Entries(remote, rules.identity);
  const [first, second] = rules.winner === "local"
    ? [localById, remoteById]
    : [remoteById, localById];
  const out: unknown[] = [];
  const take = (id: string) => {
    const inLocal = localById.indexOf(id);
    const inRemote = remoteById.indexOf(id);
    if (inLocal >= 0 && inRemote >= 0) {
      const inBase = baseById.indexOf(id);
      out.push(rules.combine(
        inBase >= 0 ? baseById.values[inBase] : undefined,
        localById.values[inLocal],
        remoteById.values[inRemote],
      ));
    } else if (!rules.keepRemovals || baseById.indexOf(id) < 0) {
      out.push(inLocal >= 0 ? localById.values[inLocal] : remoteById.values[inRemote]);
    }
  };
  for (const id of first.ids) take(id);
  for (const id of second.ids) if (first.indexOf(id) < 0) take(id);
  return out;
}

/** Identity by value, as canonical JSON: `{a, b}` and `{b, a}` are one entry. */
export const valueIdentity: (entry: unknown) => string = identityKey;

/**
 * A list's entries by identity, its own duplicates collapsed to their first occurrence.
 * Short lists (tags, a few paths) are searched in place: cheaper than hashing freshly built
 * identity strings into a Map, which long lists (history) still get.
 */
class Entries {
  readonly ids: string[] = [];
  readonly values: unknown[] = [];
  readonly #index: Map<string, number> | null;

  constructor(list: readonly unknown[], identity: (entry: unknown) => string) {
    this.#index = list.length > 16 ? new Map() : null;
    for (const entry of list) {
      const id = identity(entry);
      if (this.indexOf(id) >= 0) continue;
      this.#index?.set(id, this.ids.length);
      this.ids.push(id);
      this.values.push(entry);
    }
  }

  indexOf(id: string): number {
    return this.#index ? this.#index.get(id) ?? -1 : this.ids.indexOf(id);
  }
}
