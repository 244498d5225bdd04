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
  const baseById = byIdentity(Array.isArray(base) ? base : [], rules.identity);
  const localById = byIdentity(local, rules.identity);
  const remoteById = byIdentity(remote, rules.identity);
  const [first, second] = rules.winner === "local"
    ? [localById, remoteById]
    : [remoteById, localById];
  const out: unknown[] = [];
  const take = (id: string) => {
    const inLocal = localById.has(id);
    const inRemote = remoteById.has(id);
    if (inLocal && inRemote) {
      out.push(rules.combine(baseById.get(id), localById.get(id), remoteById.get(id)));
    } else if (!rules.keepRemovals || !baseById.has(id)) {
      out.push(inLocal ? localById.get(id) : remoteById.get(id));
    }
  };
  for (const id of first.keys()) take(id);
  for (const id of second.keys()) if (!first.has(id)) take(id);
  return out;
}

/** Identity by value, as canonical JSON: `{a, b}` and `{b, a}` are one entry. */
export const valueIdentity: (entry: unknown) => string = identityKey;

function byIdentity(
  list: readonly unknown[],
  identity: (entry: unknown) => string,
): Map<string, unknown> {
  const map = new Map<string, unknown>();
  // A list's own duplicates collapse to their first occurrence.
  for (const entry of list) {
    const id = identity(entry);
    if (!map.has(id)) map.set(id, entry);
  }
  return map;
}
