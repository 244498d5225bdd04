import assert from "node:assert/strict";
import {
  Cursor,
  decodeCursor,
  decodeSince,
  encodeCursor,
  encodePosition,
  SinceCursor,
} from "../../sync/cursor.ts";
import { AppError } from "../../sync/errors.ts";

Deno.test("encodePosition() hands a user without a team the c1 cursor it always had", () => {
  assert.equal(encodePosition({ user: 42, team: 0 }, null), "c1.16");
  assert.equal(encodePosition({ user: 42, team: 0 }, null), encodeCursor(42));
  assert.deepEqual(decodeSince("c1.16", null), { user: 42, team: 0, expired: false });
});

Deno.test("a member's cursor round-trips both streams for its own team", () => {
  const cursor = encodePosition({ user: 1295, team: 36 }, "acme");
  assert.match(cursor, /^c2\.zz\.10\.[0-9a-f]{16}$/);
  assert.deepEqual(decodeSince(cursor, "acme"), { user: 1295, team: 36, expired: false });
  assert.ok(Cursor.safeParse(cursor).success && SinceCursor.safeParse(cursor).success);
});

Deno.test("a cursor of another team, or of a team the user no longer syncs, is expired", () => {
  const cursor = encodePosition({ user: 7, team: 3 }, "acme");
  assert.deepEqual(decodeSince(cursor, "globex"), { user: 7, team: 0, expired: true });
  assert.deepEqual(decodeSince(cursor, null), { user: 7, team: 0, expired: true });
  // Team ids differing only slightly get unrelated tags.
  assert.notEqual(
    cursor.split(".")[3],
    encodePosition({ user: 7, team: 3 }, "acme ").split(".")[3],
  );
});

Deno.test("a c1 cursor read by a member of a team holds nothing of the team's stream yet", () => {
  assert.deepEqual(decodeSince("c1.a", "acme"), { user: 10, team: 0, expired: false });
});

Deno.test("malformed cursors are VALIDATION_FAILED naming the field, whatever the team", () => {
  for (
    const bad of [
      "c1.",
      "c1.A",
      "c3.1",
      "c2.1.2",
      "c2.1.2.xyz",
      `c2.1.2.${"0".repeat(15)}`,
      "c1.zzzzzzzzzzzz",
      "c1.zzzzzzzzzzz", // 11 digits of base 36: past Number.MAX_SAFE_INTEGER
    ]
  ) {
    for (const team of [null, "acme"]) {
      assert.throws(() => decodeSince(bad, team, "cursor"), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, "VALIDATION_FAILED");
        assert.deepEqual(error.details, { fields: { cursor: "malformed cursor" } });
        return true;
      }, bad);
    }
  }
});

Deno.test("decodeCursor() reads single-stream cursors only (what bus events carry)", () => {
  assert.equal(decodeCursor("c1.2s"), 100);
  assert.throws(() => decodeCursor(encodePosition({ user: 1, team: 1 }, "acme")), AppError);
});
