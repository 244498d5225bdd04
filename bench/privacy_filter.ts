/**
 * Cost of the privacy filter per command, as a push pays it: every text field of a command
 * record (command, cwd, host, shell) against the built-in rules, a realistic set of user
 * `secret_patterns` (one RE2 program) and two `local_only` history rules, over the test
 * corpus (tests/fixtures/command_corpus.tsv). Beside it, a plain baseline: one V8 RegExp
 * test per text field. Then the worst cases a hostile user can send: 64 KiB commands made
 * to defeat each rule family, and `(a+)+$` as a user pattern, which V8's own engine takes
 * seconds to answer on 28 `a`s and a `!`.
 *
 * Per-command figures are this process's CPU time, so other work on a shared machine does
 * not inflate them; the wall-clock median is printed beside them.
 * @module
 */
import process from "node:process";
import { PrivacyFilter } from "../sync/privacy_filter.ts";
import { figure } from "./support/report.ts";
import { percentile, ratio } from "./support/stats.ts";

const REPEAT = 40;
const WARMUP_ROUNDS = 3;

/** Company-specific formats a team would add, as users write them (some with `(?i)`). */
const USER_PATTERNS = [
  String.raw`(?i)\bacme_[a-z0-9]{32}\b`,
  String.raw`\binternal-[0-9a-f]{40}\b`,
  String.raw`(?i)corp\.vault\.example\.com/v1/\S+`,
  String.raw`\bMYCO-[A-Z0-9]{20}\b`,
  String.raw`(?i)--license-key[= ]\S+`,
  String.raw`(?i)\bprod-db-password\b`,
  String.raw`\bsk_acme_[A-Za-z0-9]{24}`,
  String.raw`(?i)x-acme-signature:\s*\S+`,
];
const HISTORY_RULES = [
  { match: { cwd: "/home/alice/clients/bank" }, action: "local_only" as const },
  { match: { pattern: String.raw`(?i)^\s*vault\s+kv\s+get` }, action: "local_only" as const },
];

/** Runs the benchmark and returns its report. */
export async function run(): Promise<string[]> {
  const commands = await corpus();
  const records = commands.map((command, i) => ({
    command,
    session_id: "5b0f7c52-5f3e-4c55-9f0e-1d2a3b4c5d6e",
    started_at: 1_700_000_000_000 + i,
    cwd: i % 3 === 0 ? "/home/alice/projects/api" : "/srv/deploy/releases/20261130",
    host: i % 2 === 0 ? "alice-laptop.local" : "build-7.ci.example.com",
    shell: "/bin/zsh",
    exit_code: 0,
  }));
  const filter = new PrivacyFilter({
    secret_patterns: USER_PATTERNS,
    history_rules: HISTORY_RULES,
  });
  const baseline = /\bAKIA[0-9A-Z]{16}\b/;
  const service = perRecord(records, (r) => filter.isPrivate(r));
  const plain = perRecord(
    records,
    (r) => [r.command, r.cwd, r.host, r.shell].some((text) => baseline.test(text)),
  );
  const median = percentile(service.cpu, 50);
  const lines = [
    `privacy filter: ${records.length} corpus commands (command, cwd, host, shell), built-ins + ` +
    `${USER_PATTERNS.length} user patterns + ${HISTORY_RULES.length} history rules`,
    figure({
      name: "privacy filter, median CPU per command",
      value: median,
      unit: "µs",
      goal: { op: "<=", value: 10 },
      baseline: `wall ${percentile(service.wall, 50).toFixed(2)} µs`,
    }),
    `  p99      ${percentile(service.cpu, 99).toFixed(2)} µs/command CPU`,
    `  max      ${Math.max(...service.cpu).toFixed(2)} µs/command CPU`,
    `  one V8 RegExp per field: median ${percentile(plain.cpu, 50).toFixed(2)} µs/command, ` +
    `ratio ${ratio(median / percentile(plain.cpu, 50))}`,
  ];
  await new Promise((done) => setTimeout(done, 0));
  lines.push("  worst cases, 64 KiB command (ms, one call):");
  for (const [name, text] of hostileCommands()) {
    lines.push(
      `    ${name.padEnd(34)} ${once(() => filter.isPrivate({ command: text })).toFixed(1)} ms`,
    );
  }
  const catastrophic = new PrivacyFilter({ secret_patterns: ["(a+)+$"] });
  const text = "a".repeat(28) + "!";
  lines.push(
    `  user pattern (a+)+$ on 28 a's + '!': ` +
      `${(once(() => catastrophic.isSecret(text)) * 1000).toFixed(0)} µs (V8 RegExp: seconds)`,
  );
  return lines;
}

/** µs per call for each record, CPU and wall: the mean of REPEAT calls, after warm-up. */
function perRecord<T>(
  records: readonly T[],
  check: (record: T) => boolean,
): { cpu: number[]; wall: number[] } {
  let sink = 0;
  for (let round = 0; round < WARMUP_ROUNDS; round++) {
    for (const record of records) sink += check(record) ? 1 : 0;
  }
  const cpu: number[] = [];
  const wall: number[] = [];
  for (const record of records) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < REPEAT; i++) sink += check(record) ? 1 : 0;
    wall.push(((performance.now() - start) * 1000) / REPEAT);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / REPEAT);
  }
  // Using the results keeps the engine from optimising the calls away.
  if (sink < 0) throw new Error("unreachable");
  return { cpu, wall };
}

function once(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

async function corpus(): Promise<string[]> {
  const text = await Deno.readTextFile(
    new URL("../tests/fixtures/command_corpus.tsv", import.meta.url),
  );
  return text.trim().split("\n").slice(1).map((line) => line.slice(line.indexOf("\t") + 1));
}

/** 64 KiB inputs built to make each rule family rescan: repeated prefixes without an end. */
function hostileCommands(): [string, string][] {
  const fill = (unit: string) => unit.repeat(Math.ceil(65_536 / unit.length)).slice(0, 65_536);
  return [
    ["random words", fill("deploy --force api-7 ")],
    ["one long word", fill("a")],
    ["JWT prefixes", fill("-eyJ")],
    ["token prefixes", fill("ghp_sk-xoxb-AKIA")],
    ["key=value pairs", fill("password=")],
    ["URL credentials", fill("a:b@")],
    ["scheme://", fill("x://")],
    ["PEM dashes", fill("-")],
    ["base64 run", fill("QUJD")],
    ["quotes and substitutions", fill("'$(\"`")],
    ["SQL keywords", fill("identified with ")],
    ["user:pass no host", fill("=a:bbbbbbbbbb")],
  ];
}

if (import.meta.main) console.log((await run()).join("\n"));
