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
  if (Array.isArray(value)) {
    return `[${value.map((item) => item === undefined ? "null" : canonicalJson(item)).join(",")}]`;
  }
  if (isPlainObject(value)) {
    const parts: string[] = [];
    for (const key of Object.keys(value).sort()) {
      if (value[key] !== undefined) {
        parts.push(`${JSON.stringify(key)}:${canonicalJson(value[key])}`);
      }
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Structural equality of JSON values, ignoring object key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  let aCount = 0;
  for (const key in a) {
    if (!Object.hasOwn(a, key) || a[key] === undefined) continue;
    if (!jsonEqual(a[key], field(b, key))) return false;
    aCount++;
  }
  return aCount === definedCount(b);
}

/** True for `{…}` values: not null, not an array. */
export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An own field, or undefined: `obj.constructor` must not leak in from the prototype. */
export function field(obj: PlainObject | null | undefined, key: string): unknown {
  return obj && Object.hasOwn(obj, key) ? obj[key] : undefined;
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

function definedCount(obj: PlainObject): number {
  let count = 0;
  for (const key in obj) if (Object.hasOwn(obj, key) && obj[key] !== undefined) count++;
  return count;
}
