import assert from "node:assert/strict";
import { junitSummary } from "./junit_summary.ts";

const FIXTURE = new URL("./fixtures/junit_fixture.ts", import.meta.url).pathname;

/** Runs `deno test` on the fixture with `args` and counts its real JUnit report. */
async function countRun(args: string[]) {
  const junit = await Deno.makeTempFile({ suffix: ".xml" });
  try {
    await new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-check", `--junit-path=${junit}`, ...args, FIXTURE],
      stdout: "null",
      stderr: "null",
    }).output();
    return junitSummary(await Deno.readTextFile(junit));
  } finally {
    await Deno.remove(junit);
  }
}

Deno.test("junitSummary() counts tests left out by --filter as not run, never as passed", async () => {
  assert.deepEqual(await countRun(["--filter", "passes one"]), { passed: 1, failed: 0, notRun: 3 });
});

Deno.test("junitSummary() counts failures and ignored tests of a whole run", async () => {
  assert.deepEqual(await countRun([]), { passed: 2, failed: 1, notRun: 1 });
});
