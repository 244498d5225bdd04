import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson, jsonEqual } from "../../conflict/mod.ts";

Deno.test("canonicalJson() sorts keys at every depth and drops undefined fields", () => {
  assert.equal(
    canonicalJson({ b: { d: 1, c: [2, { f: 0, e: 1 }] }, a: undefined }),
    '{"b":{"c":[2,{"e":1,"f":0}],"d":1}}',
  );
});

Deno.test("jsonEqual() ignores key order but not array order", () => {
  assert.ok(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }));
  assert.ok(!jsonEqual([1, 2], [2, 1]));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(jsonEqual({ a: 1, b: undefined }, { a: 1 }));
  assert.ok(!jsonEqual(null, {}));
  assert.ok(!jsonEqual([], {}));
});

Deno.test("jsonEqual() agrees with canonicalJson()", () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  fc.assert(fc.property(json, json, (a, b) => {
    assert.equal(jsonEqual(a, b), canonicalJson(a) === canonicalJson(b));
    assert.ok(jsonEqual(a, JSON.parse(JSON.stringify(a))));
  }));
});
