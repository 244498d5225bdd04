/**
 * `Deno.test` with the op and resource sanitizers on. Deno 2.9 leaves them off unless
 * `--sanitize-ops --sanitize-resources` is passed; the bus tests need them to prove that
 * `close()` leaves no timer, stream or server behind.
 */
export function sanitizedTestCase(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: true, sanitizeResources: true, fn });
}
