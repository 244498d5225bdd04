/** JSON helpers: what the server will store, and equality that ignores key order. */
import type { ItemData } from "./wire.ts";

/**
 * `data` as the server will store and return it (a JSON round trip: `undefined` fields
 * dropped, dates as strings), deeply frozen so no caller can change the local copy behind
 * the client's back. Throws a `TypeError` for anything that is not a JSON object.
 */
export function toItemData(data: unknown): ItemData {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new TypeError("Item data must be a JSON object");
  }
  return deepFreeze(JSON.parse(JSON.stringify(data)));
}

/** Structural equality of JSON values, ignoring object key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    Object.hasOwn(b, k) &&
    jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  );
}

/** Freezes `value` and everything in it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
