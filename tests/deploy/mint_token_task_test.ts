/**
 * `deno task mint-token` as the README runs it: a token the service accepts, and for a
 * mistyped command line or a bad env var a message and exit code 2, never a stack trace.
 */
import assert from "node:assert/strict";
import { jwtVerify } from "jose";
import { passedThroughEnv } from "../support/service_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECRET = "mint-token-task-test-secret-of-32-characters-or-more";

async function mintToken(args: string[], env: Record<string, string> = { JWT_SECRET: SECRET }) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "mint-token", ...args],
    cwd: ROOT,
    env: { ...passedThroughEnv(), ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  return { code, out: text(stdout), err: text(stderr) };
}

function assertUsageError(run: { code: number; out: string; err: string }, problem: RegExp) {
  assert.equal(run.code, 2, run.err);
  assert.equal(run.out, "", "nothing on stdout that a script could take for a token");
  assert.match(run.err, problem);
  assert.match(run.err, /Usage: deno task mint-token --user <id>/);
  assert.doesNotMatch(run.err, /Uncaught|\bat .*\.ts:\d+/, "no stack trace");
}

Deno.test("deno task mint-token prints an account token signed with JWT_SECRET, for the user, tier and team asked", async () => {
  const run = await mintToken(["--user", "alice", "--tier", "team", "--team", "t1", "--days", "2"]);
  assert.equal(run.code, 0, run.err);
  const { payload } = await jwtVerify(run.out, new TextEncoder().encode(SECRET));
  assert.equal(payload.sub, "alice");
  assert.equal(payload.tier, "team");
  assert.equal(payload.team_id, "t1");
  assert.equal(payload.exp! - payload.iat!, 2 * 86400);
});

Deno.test("deno task mint-token --help prints the usage and exits 0", async () => {
  for (const flag of ["--help", "-h"]) {
    const run = await mintToken([flag]);
    assert.equal(run.code, 0, run.err);
    assert.match(
      run.out,
      /^Usage: deno task mint-token --user <id> \[--tier free\|pro\|team\|enterprise\]/,
    );
  }
});

Deno.test("deno task mint-token with a mistyped command line exits 2 with what was wrong and the usage", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["--usr", "alice"], /Unknown option '--usr'/],
    [["--user"], /'--user <value>' argument missing/],
    [["alice"], /Unexpected argument 'alice'/],
    [[], /--user is required/],
    [["--user", "alice", "--tier", "gold"], /--tier must be one of free, pro, team, enterprise/],
    [["--user", "alice", "--days", "0"], /--days must be above 0/],
    [["--user", "alice", "--team-role", "admin"], /--team-role needs --team/],
  ];
  for (const [args, problem] of cases) {
    await t.step(args.join(" ") || "(nothing)", async () => {
      assertUsageError(await mintToken(args), problem);
    });
  }
});

Deno.test("deno task mint-token with a bad env var exits 2 naming it, without a stack trace", async () => {
  const run = await mintToken(["--user", "alice"], { JWT_SECRET: "short" });
  assert.equal(run.code, 2, run.err);
  assert.equal(run.out, "");
  assert.match(run.err, /^Invalid configuration: JWT_SECRET must be at least 32 characters$/);
});
