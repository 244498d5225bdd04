import { holdsBuiltinSecret } from "./privacy/command_secrets.ts";
import { someText } from "./privacy/some_text.ts";
import { compileUserPattern, compileUserPatterns } from "./privacy/user_pattern.ts";
import type { SyncSettings } from "./sync_settings.ts";

type HistoryRule = NonNullable<SyncSettings["history_rules"]>[number];

/**
 * Decides which commands are never stored (DESIGN.md §5, §7): those carrying a secret in
 * any text field (the built-in rules, then the user's `secret_patterns`), and those a
 * `local_only` history rule keeps on the device. Build one per batch: user patterns are
 * compiled once (and cached by their text across batches).
 */
export class PrivacyFilter {
  readonly #builtin: BuiltinSecrets;
  readonly #userPatterns: TextTest | null;
  readonly #localOnly: HistoryRuleMatcher[];

  /** `builtin`: the batch's verdicts of the built-in rules, if some were judged already. */
  constructor(
    settings: Pick<SyncSettings, "secret_patterns" | "history_rules"> = {},
    builtin = new BuiltinSecrets(),
  ) {
    this.#builtin = builtin;
    const userPatterns = compileUserPatterns(settings.secret_patterns ?? []);
    this.#userPatterns = userPatterns && textTest((text) => userPatterns.test(text));
    this.#localOnly = (settings.history_rules ?? []).flatMap((rule) =>
      rule.action === "local_only" ? [historyRuleMatcher(rule.match, true)] : []
    );
  }

  /** True when `text` carries something that looks like a secret. */
  isSecret(text: string): boolean {
    return holdsBuiltinSecret(text) || (this.#userPatterns?.any(text) ?? false);
  }

  /**
   * True when the command must not be stored: a secret in any text of it (`command`,
   * `cwd`, `host`, `shell`, fields unknown to this version, object keys, at any depth),
   * or a `local_only` history rule matches it.
   */
  isPrivate(command: Record<string, unknown>): boolean {
    return this.#builtin.holds(command) ||
      (this.#userPatterns !== null && holdsSecretText(command, this.#userPatterns)) ||
      this.#localOnly.some((matches) => matches(command));
  }
}

/**
 * The built-in rules' half of `PrivacyFilter.isPrivate`, which needs no settings: a batch
 * can judge its commands before its settings are read (while its reads are in flight), and
 * each command object is judged once.
 */
export class BuiltinSecrets {
  readonly #verdicts = new Map<object, boolean>();
  readonly #test = textTest(holdsBuiltinSecret);

  /** True when a text of `command` (as `PrivacyFilter.isPrivate` reads them) holds a secret. */
  holds(command: Record<string, unknown>): boolean {
    let verdict = this.#verdicts.get(command);
    if (verdict === undefined) {
      verdict = holdsSecretText(command, this.#test);
      this.#verdicts.set(command, verdict);
    }
    return verdict;
  }
}

/** One rule set over a command's texts; `repeating` is for the fields that repeat in a batch. */
interface TextTest {
  any(text: string): boolean;
  repeating(text: string): boolean;
}

/**
 * A device's `cwd`, `host` and `shell` repeat across a batch (a few directories, one
 * host, one shell), so each distinct short value is judged once per batch; the command
 * text itself rarely repeats and is always judged.
 */
function textTest(isSecret: (text: string) => boolean): TextTest {
  const verdicts = new Map<string, boolean>();
  return {
    any: isSecret,
    repeating(text) {
      if (text.length > MEMO_TEXT_LIMIT) return isSecret(text);
      let verdict = verdicts.get(text);
      if (verdict === undefined) {
        verdict = isSecret(text);
        if (verdicts.size < MEMO_ENTRIES) verdicts.set(text, verdict);
      }
      return verdict;
    },
  };
}

/** Whether `test` finds a secret in any text of the command, its unknown keys included. */
function holdsSecretText(command: Record<string, unknown>, test: TextTest): boolean {
  return Object.entries(command).some(([field, value]) =>
    (!COMMAND_FIELDS.has(field) && test.any(field)) ||
    (typeof value === "string" && REPEATING_FIELDS.has(field)
      ? test.repeating(value)
      : someText(value, test.any))
  );
}

const REPEATING_FIELDS = new Set(["cwd", "host", "shell"]);
// Bounds the memo whatever a batch holds: a batch is at most 500 changes.
const MEMO_TEXT_LIMIT = 1_024;
const MEMO_ENTRIES = 512;

// The contract's field names (DESIGN.md §2): no secret hides in them, so they are not read.
const COMMAND_FIELDS = new Set([
  "command",
  "session_id",
  "started_at",
  "cwd",
  "host",
  "shell",
  "exit_code",
  "duration_ms",
]);

/** Whether one command matches a history rule. */
export type HistoryRuleMatcher = (
  command: { command?: unknown; cwd?: unknown; host?: unknown },
) => boolean;

/**
 * A rule matches when all its conditions do: `pattern` anywhere in the command text,
 * `cwd` the directory or one below it, `host` exactly. A stored pattern that the linear
 * engine refuses (written before patterns were checked) matches as `invalidMatches` says:
 * a `local_only` rule errs towards keeping commands on the device, an `expire` rule
 * towards keeping them.
 */
export function historyRuleMatcher(
  match: HistoryRule["match"],
  invalidMatches: boolean,
): HistoryRuleMatcher {
  const compiled = match.pattern === undefined ? null : compileUserPattern(match.pattern);
  const cwd = match.cwd?.replace(/\/+$/, "");
  return (command) =>
    (compiled === null
      ? true
      : compiled.ok
      ? compiled.pattern.test(String(command.command))
      : invalidMatches) &&
    (cwd === undefined || isWithin(String(command.cwd ?? ""), cwd)) &&
    (match.host === undefined || command.host === match.host);
}

function isWithin(dir: string, root: string): boolean {
  return dir === root || dir.startsWith(`${root}/`) || root === "";
}
