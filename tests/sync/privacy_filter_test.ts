import assert from "node:assert/strict";
import { BuiltinSecrets, PrivacyFilter } from "../../sync/privacy_filter.ts";

const TOKEN = "ghp_Zq8xR2mK7vN4pL9wT3yB6cF1hJ5dS0aE8gU2";
const base = { command: "make deploy", session_id: "s1", started_at: 1 };

Deno.test("PrivacyFilter.isPrivate() reads every text of a command: known fields, unknown fields, keys, any depth", () => {
  const filter = new PrivacyFilter();
  const leaking = [
    { cwd: `/tmp/${TOKEN}` },
    { host: "deploy:S3cretPassw0rd@db.example.com" },
    { shell: "env PGPASSWORD=Tr0ub4dor3 bash" },
    { future_field: `https://bot:${TOKEN}@github.com` },
    { nested: { deeper: [[`export GITHUB_TOKEN=${TOKEN}`]] } },
    { [`label ${TOKEN}`]: 1 },
  ];
  for (const extra of leaking) {
    assert.equal(filter.isPrivate({ ...base, ...extra }), true, JSON.stringify(extra));
  }
  assert.equal(
    filter.isPrivate({ ...base, cwd: "/home/a", host: "laptop", shell: "/bin/zsh", note: "token" }),
    false,
  );
});

Deno.test("PrivacyFilter.isPrivate() judges a repeated cwd, host or shell the same every time in a batch", () => {
  const filter = new PrivacyFilter();
  const leakingCwd = `/tmp/${TOKEN}`;
  const verdicts = [leakingCwd, "/home/a", leakingCwd, "/home/a", leakingCwd].map((cwd) =>
    filter.isPrivate({ ...base, cwd, host: "laptop", shell: "/bin/zsh" })
  );
  assert.deepEqual(verdicts, [true, false, true, false, true]);
  // Past the memo's bounds every value is still judged.
  const many = Array.from({ length: 600 }, (_, i) => `/srv/app-${i}`);
  assert.equal(many.some((cwd) => filter.isPrivate({ ...base, cwd })), false);
  assert.equal(filter.isPrivate({ ...base, cwd: `/srv/${TOKEN}` }), true);
  assert.equal(filter.isPrivate({ ...base, host: `h-${"x".repeat(2_000)} ${TOKEN}` }), true);
});

Deno.test("PrivacyFilter.isSecret() adds the user's patterns to the built-in rules", () => {
  const filter = new PrivacyFilter({ secret_patterns: [String.raw`(?i)\bacme_[a-z0-9]{8}\b`] });
  assert.equal(filter.isSecret("deploy ACME_1a2b3c4d"), true);
  assert.equal(filter.isSecret(`echo ${TOKEN}`), true);
  assert.equal(new PrivacyFilter().isSecret("deploy ACME_1a2b3c4d"), false);
});

Deno.test("PrivacyFilter.isPrivate() keeps local_only commands by pattern, cwd (at a path boundary) and host", () => {
  const filter = new PrivacyFilter({
    history_rules: [
      { match: { pattern: String.raw`^vault\s` }, action: "local_only" },
      { match: { cwd: "/home/a/bank/" }, action: "local_only" },
      { match: { host: "work-laptop", pattern: "kubectl" }, action: "local_only" },
      { match: { pattern: "ls" }, action: "expire", ttl_seconds: 60 },
    ],
  });
  const cases: [Record<string, unknown>, boolean][] = [
    [{ command: "vault status" }, true],
    [{ command: "echo vault" }, false],
    [{ command: "ls", cwd: "/home/a/bank" }, true],
    [{ command: "ls", cwd: "/home/a/bank/statements" }, true],
    [{ command: "ls", cwd: "/home/a/bankrupt-game" }, false],
    [{ command: "kubectl get pods", host: "work-laptop" }, true],
    [{ command: "kubectl get pods", host: "home" }, false],
    [{ command: "ls -la" }, false],
  ];
  for (const [command, expected] of cases) {
    assert.equal(filter.isPrivate({ ...base, ...command }), expected, JSON.stringify(command));
  }
});

Deno.test("PrivacyFilter.isPrivate() errs towards keeping local a stored rule whose pattern the linear engine refuses", () => {
  const filter = new PrivacyFilter({
    history_rules: [{ match: { pattern: "(?=lookahead)", cwd: "/work" }, action: "local_only" }],
  });
  assert.equal(filter.isPrivate({ ...base, cwd: "/work/x" }), true);
  assert.equal(filter.isPrivate({ ...base, cwd: "/home" }), false);
});

Deno.test("PrivacyFilter.isPrivate() with built-in verdicts judged before the settings were read answers as without them", () => {
  const settings = {
    secret_patterns: [String.raw`(?i)\bacme_[a-z0-9]{8}\b`],
    history_rules: [{ match: { cwd: "/home/a/bank" }, action: "local_only" as const }],
  };
  const commands = [
    { ...base, command: `git push https://bot:${TOKEN}@github.com` },
    { ...base, command: "deploy ACME_1a2b3c4d" },
    { ...base, cwd: "/home/a/bank" },
    { ...base, host: `h ${TOKEN}` },
    { ...base, cwd: "/home/a" },
  ];
  const builtin = new BuiltinSecrets();
  // Judged first, as a push does while its reads are in flight.
  assert.deepEqual(commands.map((c) => builtin.holds(c)), [true, false, false, true, false]);
  const prejudged = new PrivacyFilter(settings, builtin);
  const fresh = new PrivacyFilter(settings);
  assert.deepEqual(commands.map((c) => prejudged.isPrivate(c)), [true, true, true, true, false]);
  assert.deepEqual(commands.map((c) => fresh.isPrivate(c)), [true, true, true, true, false]);
});
