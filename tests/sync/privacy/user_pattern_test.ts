import assert from "node:assert/strict";
import {
  compileUserPattern,
  compileUserPatterns,
  MAX_PROGRAM_SIZE,
} from "../../../sync/privacy/user_pattern.ts";

function compiled(source: string) {
  const result = compileUserPattern(source);
  assert.ok(result.ok, `refused ${source}: ${!result.ok && result.reason}`);
  return result.pattern;
}

Deno.test("compileUserPattern() answers (a+)+$ correctly, where a backtracking engine takes seconds", () => {
  const pattern = compiled("(a+)+$");
  assert.equal(pattern.test("a".repeat(28) + "!"), false);
  assert.equal(pattern.test("a".repeat(10_000) + "!"), false);
  assert.equal(pattern.test("echo aaaa"), true);
});

Deno.test("compileUserPattern() keeps the Perl syntax users write: (?i), \\b, \\d, classes, named groups", () => {
  const cases: [string, string, boolean][] = [
    [String.raw`(?i)\bacme_[a-z0-9]{8}\b`, "export X=ACME_1A2B3C4D", true],
    [String.raw`\bacme_[a-z0-9]{8}\b`, "export X=ACME_1A2B3C4D", false],
    [String.raw`(?i)token`, "MY_TOKEN=1", true],
    [String.raw`\d{3}-\d{4}`, "call 555-1234", true],
    [String.raw`(?P<k>key)=\S+`, "key=abc", true],
    [String.raw`(?<k>key)=\S+`, "key=", false],
    [String.raw`^vault\s+kv\s+get\b`, "vault kv get secret/x", true],
    [String.raw`^vault\s+kv\s+get\b`, "echo vault kv get", false],
  ];
  for (const [source, text, expected] of cases) {
    assert.equal(compiled(source).test(text), expected, `${source} on ${text}`);
  }
});

Deno.test("compileUserPattern() refuses what RE2 cannot run in linear time, or too large a program, and says why", () => {
  const cases: [string, RegExp][] = [
    [String.raw`password(?=\s)`, /linear-time engine.*\(\?=/],
    [String.raw`(?<=key=)\S+`, /linear-time engine/],
    [String.raw`(\w+)\s\1`, /linear-time engine.*\\1/],
    ["a{1001}", /linear-time engine.*repeat/],
    ["(unclosed", /linear-time engine.*missing/],
    [
      String.raw`[\s\S]{1000}`,
      new RegExp(`Too complex: \\d+ instructions, at most ${MAX_PROGRAM_SIZE}`),
    ],
  ];
  for (const [source, reason] of cases) {
    const result = compileUserPattern(source);
    assert.equal(result.ok, false, source);
    assert.match(!result.ok ? result.reason : "", reason, source);
  }
});

Deno.test("compileUserPatterns() tests all patterns in one program, (?i) scoped to its own pattern, refused ones left out", () => {
  const set = compileUserPatterns(["(?i)abc", "def", "(?=refused)", String.raw`\bxyz\d\b`])!;
  assert.equal(set.test("ABC"), true);
  assert.equal(set.test("def"), true);
  assert.equal(set.test("DEF"), false);
  assert.equal(set.test("run xyz7 now"), true);
  assert.equal(set.test("refused"), false);
  assert.equal(compileUserPatterns([]), null);
  assert.equal(compileUserPatterns(["(?!x)"]), null);
  // Compiled once per list of patterns: the same list answers the same object.
  assert.equal(compileUserPatterns(["(?i)abc", "def"]), compileUserPatterns(["(?i)abc", "def"]));
});

Deno.test("compileUserPatterns() leaves out patterns past the total program budget, keeping the first ones", () => {
  const big = Array.from({ length: 40 }, (_, i) => `[a-z]{900}${i}`);
  const set = compileUserPatterns(["needle", ...big])!;
  assert.equal(set.test("a needle"), true);
  assert.ok(set.source.split("\n").length < big.length + 1);
});
