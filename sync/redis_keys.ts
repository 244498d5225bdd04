/**
 * Redis key names that work unchanged on one Redis and on a Redis Cluster. A cluster
 * hashes only the part of a key between the first `{` and the next `}` (its hash tag), so
 * every key of one user lands in one slot: a rate limit's Lua script, a MULTI or an MGET
 * over a user's keys (its devices' included) stays on one master. Ids are escaped, so a
 * user id with `{`, `}` or `:` can neither break the tag nor collide with another key.
 */

/**
 * A key of user `userId`: `{user:<id>}:<part>:<part>…`.
 * @example userKey("42", "rate", "minute") === "{user:42}:rate:minute"
 */
export function userKey(userId: string, ...parts: string[]): string {
  return [`{user:${escapeId(userId)}}`, ...parts.map(escapeId)].join(":");
}

/**
 * A key of one device, in its user's slot: `{user:<id>}:device:<device id>:<part>…`.
 * @example deviceKey("42", "d1", "rate") === "{user:42}:device:d1:rate"
 */
export function deviceKey(userId: string, deviceId: string, ...parts: string[]): string {
  return userKey(userId, "device", deviceId, ...parts);
}

/**
 * A key of a client address (budgets kept before anyone is authenticated), in a slot of
 * its own: `{ip:<address>}:<part>…`.
 * @example addressKey("2001:db8::1", "auth") === "{ip:2001%3Adb8%3A%3A1}:auth"
 */
export function addressKey(address: string, ...parts: string[]): string {
  return [`{ip:${escapeId(address)}}`, ...parts.map(escapeId)].join(":");
}

/** `%`, `{`, `}` and `:` percent-encoded: the characters that delimit tags and parts. */
function escapeId(id: string): string {
  return id.replace(/[%{}:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
