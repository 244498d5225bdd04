import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every level and no white space: the form a checksum
 * is taken of, so two devices that serialise the same value differently agree.
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Lower-case hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  // Synchronous node:crypto: about 10x cheaper per call than crypto.subtle for short input.
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The first 128 bits of the SHA-256 of a string, formatted as a uuid: a compact key for
 * equality lookups where the full digest is not needed.
 * @example sha256Uuid("") === "e3b0c442-98fc-1c14-9afb-f4c8996fb924"
 */
export function sha256Uuid(text: string): string {
  const hex = sha256Hex(text);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20, 32)
  }`;
}
