/**
 * JSON helpers shared by the strategies: key-order-independent equality and a canonical
 * string form, so two devices that serialise the same value differently still agree.
 * A key whose value is `undefined` counts as absent, as it would after a JSON round trip.
 * @module
 */

/** A JSON object that is not an array: the values nested merges recurse into. */
export type PlainObject = Record<string, unknown>;

/** JSON text with object keys sorted at every depth.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalJson } from "./canonical.ts";
 * assert.equal(canonicalJson({ b: 1, a: [true] }), '{"a":[true],"b":1}');
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += value[i] === undefined ? "null" : canonicalJson(value[i]);
    }
    return out + "]";
  }
  let out = "{";
  for (const key of Object.keys(value).sort()) {
    const item = (value as PlainObject)[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ",";
    out += JSON.stringify(key) + ":" + canonicalJson(item);
  }
  return out + "}";
}

/**
 * A string that is equal for two values exactly when {@linkcode jsonEqual} says they are:
 * canonical JSON, except that a string (the usual list entry) is not escaped. No other
 * value's canonical form starts with a quote, so no two values share a key.
 */
export function identityKey(value: unknown): string {
  return typeof value === "string" ? `"${value}` : canonicalJson(value);
}

/**
 * Structural equality of JSON values, ignoring object key order. Walks both values once
 * and stops at the first difference: no canonical strings are built, and identical
 * references (shared subtrees) are equal without a look inside.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  return recordsEqual(a as PlainObject, b as PlainObject);
}

function recordsEqual(a: PlainObject, b: PlainObject): boolean {
  // for..in, not Object.keys: it walks V8's enum cache without copying the keys into a
  // fresh array, and reads each own value by its slot.
  let aCount = 0;
  for (const key in a) {
    const value = a[key];
    if (value === undefined) continue;
    if (!jsonEqual(value, field(b, key))) return false;
    aCount++;
  }
  // Every defined field of `a` is in `b`, so `b` has no more unless it defines more.
  return definedCount(b) === aCount;
}

/** How many fields of `obj` hold a value (`undefined` counts as absent). */
export function definedCount(obj: PlainObject): number {
  let count = 0;
  for (const key in obj) if (obj[key] !== undefined) count++;
  return count;
}

/** True for `{…}` values: not null, not an array. */
export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An own field, or undefined: `obj.constructor` must not leak in from the prototype. */
export function field(obj: PlainObject | null | undefined, key: string): unknown {
  if (!obj) return undefined;
  const value = obj[key];
  // One lookup, not two (a hash or shape search each): what an object inherits from
  // Object.prototype is a function or `__proto__`, and JSON values are never functions.
  if (typeof value === "function") return undefined;
  return key === "__proto__" && !Object.hasOwn(obj, key) ? undefined : value;
}

/** Sets an own field; a `__proto__` key stays a key instead of replacing the prototype. */
export function setField(obj: PlainObject, key: string, value: unknown): void {
  // defineProperty only when needed: it moves the object to slow dictionary mode.
  if (key === "__proto__") {
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    obj[key] = value;
  }
}
