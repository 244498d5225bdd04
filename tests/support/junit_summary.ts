/** What one `deno test` run did, counted from its JUnit report. */
export interface TestCounts {
  passed: number;
  failed: number;
  /** Left out by `--filter` or `ignore`: deno lists them as `<skipped/>` test cases. */
  notRun: number;
}

/**
 * Counts the test cases of a `deno test --junit-path` report. A case is failed when it has
 * a `<failure>` or `<error>`, not run when it has `<skipped/>` (filtered out or ignored),
 * passed otherwise. (The `tests=` total on `<testsuites>` counts filtered tests too.)
 * @example junitSummary('<testcase name="a"></testcase><testcase name="b"><skipped/></testcase>')
 */
export function junitSummary(xml: string): TestCounts {
  const counts: TestCounts = { passed: 0, failed: 0, notRun: 0 };
  // Bodies are XML-escaped, so a `<` inside one always starts an element.
  for (const [, body = ""] of xml.matchAll(/<testcase\b[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    if (/<(failure|error)\b/.test(body)) counts.failed++;
    else if (/<skipped\b/.test(body)) counts.notRun++;
    else counts.passed++;
  }
  return counts;
}
