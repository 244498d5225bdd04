import { holdsCodeCredential } from "./code_secrets.ts";
import { holdsSqlPassword } from "./sql_secrets.ts";
import { holdsPrivateKey } from "./private_key.ts";
import {
  isLiteralSecret,
  isSecretUnder,
  looksRandom,
  type NameKind,
  passwordLike,
  secretNameKind,
} from "./secret_names.ts";
import { type SimpleCommand, simpleCommands } from "./shell_words.ts";
import { holdsKnownToken } from "./token_formats.ts";
import { SUBCOMMAND_TOOLS, TOOL_RULES, type ToolRule } from "./tool_rules.ts";
import { wordHoldsSecret } from "./word_secrets.ts";

/**
 * The built-in privacy rules (DESIGN.md §5): true when `text` (a command line, or any other
 * text field of a command) carries a secret. A command that only names one is not
 * filtered: `echo $AWS_SECRET_ACCESS_KEY | wc -c`, `kubectl get secrets`, `mysql -p db`,
 * `grep -r password src/`, `ssh -p 2222 host`.
 *
 * These run on V8's RegExp: they are ours, audited to be linear, and several times faster
 * there than in RE2. User patterns never do (see user_pattern.ts).
 */
export function holdsBuiltinSecret(text: string): boolean {
  if (holdsKnownToken(text) || holdsPrivateKey(text)) return true;
  // In one bare word (a path, a host, an id) only a token or a key can hide.
  if (BARE_WORD.test(text)) return false;
  return holdsSqlPassword(text) || holdsCodeCredential(text) ||
    simpleCommands(text).some(commandHoldsSecret);
}

const BARE_WORD = /^[^\s=:@|<>'"`$]*$/;

// Words after which a NAME VALUE pair sets something (`aws configure set KEY VALUE`).
const SETTERS = new Set(["set", "config", "configure", "setx", "setenv", "put"]);
// Words after which a token-like argument is a credential (`vault login TOKEN`).
const LOGINS = new Set(["login", "auth", "authtoken", "add-authtoken", "unseal", "unlock"]);
// Words that make a command store or use a secret given on standard input.
const CONSUMERS = new Set(["secret", "secrets", "login", "auth", "unlock"]);
// Words that make `--value` a secret (`az pipelines variable create --value X --secret`).
const SECRET_MARKS = new Set(["secret", "--secret", "--secure", "SecureString", "--sensitive"]);
// Flags that give the value a command stores under a name given elsewhere.
const VALUE_FLAGS = new Set(["--value", "--data", "-Value", "-value"]);
// Flags that read a password from standard input or a descriptor (`--password-stdin`,
// `--passwd-on-stdin`, `--passphrase-fd 0`): what is piped in is the secret.
const STDIN_SECRET =
  /^--?(?:[a-z]+-)*(?:pass(?:wd|word|phrase)?|secret|token|key)-(?:on-)?(?:stdin|fd)$/i;
// Names of flags whose value may be `user:password` (`-auth admin:X`, `--creds bot:X`).
const CREDENTIAL_NAME = /(?:auth|creds?|credentials?)$/i;
// A PowerShell cmdlet (`$pw = Read-Host …`): the right side of `=` is a call, not a value.
const CMDLET = /^[A-Za-z]+-[A-Za-z]+$/;
// Files that hold credentials whatever is written to them.
const CREDENTIAL_FILES =
  /(?:^|\/)(?:\.netrc|\.pgpass|\.my\.cnf|\.git-credentials|\.npmrc|\.pypirc|credentials)$/;
// Windows tools' password switches (`signtool /p X`, `schtasks /rp X`).
const WINDOWS_PASSWORD_FLAG = /^\/(?:p|pw|pass|passwd|password|rp)$/i;
const USER_FLAG = /^(?:-u|-U|--user|--username)$/;
// The short flags that are secret words themselves (secretNameKind calls them strong).
const SECRET_SHORT_FLAGS = new Set(["pw"]);
const PORT_LIKE = /^[\d.:/-]+(?:tcp|udp)?$/;
const EXPANSION = /\$[\w{(]/;
const DOTTED_SETTING = /^[\w-]+(?:\.[\w-]+)+$/;
const DECODE_FLAG = /^(?:-d|-D|--decode)$/;
const SLUG = /^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/;
const SUBCOMMAND = /^[a-z][\w:.-]*$/;
// `app:create-user NAME X`, `add_user NAME X`, `user:create NAME X`.
const CREATES_USER = /(?:create|add|new)[-_:]?user$|(?:^|[-_:])user[-_:](?:create|add|new)$/;
const HOST_AFTER_AT = /@[\w-]+\./;

interface Context {
  words: readonly string[];
  rule: ToolRule | undefined;
  /** namesUser(words) and storesSecret(words), once asked: a command of many `-p X` or
   * `--value X` would otherwise scan all its words for each, quadratic in its length. */
  namesUser?: boolean;
  storesSecret?: boolean;
  fedLiteral?: boolean;
}

/** A user is named (`-u bob`) or the command logs in, so a `-p` beside it is a password. */
function namesUser(words: readonly string[]): boolean {
  return words.some((w, i) =>
    w === "login" || USER_FLAG.test(w) && !(words[i + 1] ?? "-").startsWith("-")
  );
}

/**
 * The command stores a secret, so its `--value` is one: it says so, or it names what it
 * stores (`--name docker_password`, `glab variable set DEPLOY_TOKEN`, `/prod/db/password`).
 */
function storesSecret(words: readonly string[]): boolean {
  return words.some((w, i) =>
    SECRET_MARKS.has(w) ||
    !w.startsWith("-") && secretNameKind(lastSegment(w)) === "strong" ||
    (w === "--name" || w === "-n") && secretNameKind(lastSegment(words[i + 1] ?? "")) !== null
  );
}

function commandHoldsSecret(command: SimpleCommand): boolean {
  const { words } = command;
  // The whole-command facts (namesUser, storesSecret) are read only when a `-p` or a
  // `--value` asks: most commands have neither, and the scans were a fifth of the cost.
  const context: Context = { words, rule: undefined };
  // A rule's check reads all the words after its tool, so it runs once, where the tool
  // first shows: `net use net use …` would otherwise read the rest again for each.
  let checked: Set<ToolRule> | undefined;
  if (command.hereString !== null && wordHoldsSecret(command.hereString)) return true;
  let setting = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const next = words[i + 1];
    if (word.startsWith("-")) {
      const plain = context.rule?.plain?.find((f) => word === f || word.startsWith(`${f}=`));
      // The value of a plain flag names a secret kept elsewhere; skip it.
      if (plain !== undefined) {
        if (word === plain && next !== undefined && !next.startsWith("-")) i++;
        continue;
      }
      if (wordHoldsSecret(word) || flagHoldsSecret(context, word, next)) return true;
      if (STDIN_SECRET.test(word) && (context.fedLiteral ??= fedLiteral(command))) return true;
      continue;
    }
    if (wordHoldsSecret(word) || spacedPairHoldsSecret(words, i)) return true;
    if (WINDOWS_PASSWORD_FLAG.test(word) && next !== undefined && passwordLike(next)) return true;
    const name = toolName(word);
    const found = (SUBCOMMAND_TOOLS.has(name) && TOOL_RULES.get(`${name} ${next}`)) ||
      TOOL_RULES.get(name);
    if (found) {
      context.rule = found;
      checked ??= new Set();
      if (checked.has(found)) continue;
      checked.add(found);
      const args = words.slice(i + 1);
      if (
        found.check?.(args) ||
        (found.readsSecret?.(args) && (context.fedLiteral ??= fedLiteral(command)))
      ) return true;
      continue;
    }
    if (SETTERS.has(word.toLowerCase())) setting = true;
    else if (next !== undefined && namedValueHoldsSecret(word, next, setting)) return true;
    else if (accountThenSecret(words, i)) return true;
    if (LOGINS.has(word.toLowerCase()) && loginHoldsSecret(words, i + 1)) return true;
  }
  return feedsSecretConsumer(command) || writesCredentials(command);
}

/**
 * A pair spread over words: `Name = value` (PowerShell, HCL: `@{Authorization = "Bearer
 * X"}`) or `name= value` (sc.exe). Not `TOKEN= cmd`, which empties a variable for `cmd`.
 */
function spacedPairHoldsSecret(words: readonly string[], i: number): boolean {
  const word = words[i];
  if (!word.endsWith("=") || i === 0) return false;
  const value = words[i + 1];
  if (value === undefined || CMDLET.test(value)) return false;
  if (word === "=") return wordHoldsSecret(`${words[i - 1]}=${value}`);
  return /^[a-z][\w.-]*=$/.test(word) && wordHoldsSecret(word + value);
}

/**
 * `KEY VALUE` as two words: after a setter (`npm config set …:_authToken VALUE`) any
 * literal but a plain word (prose sets things too: "remember to set GITHUB_TOKEN before");
 * elsewhere only a random-looking value (`neo4j-admin set-initial-password X`), so that
 * `grep password src/` stays a search.
 */
function namedValueHoldsSecret(key: string, value: string, setting: boolean): boolean {
  if (!/^[\w.:/@-]+$/.test(key) || key.includes("=") || value.startsWith("-")) return false;
  // `poetry config pypi-token.pypi X`: in a dotted setting (not a path such as `secret/db`)
  // the secret word may sit before the last segment.
  const kind = secretNameKind(lastSegment(key)) ??
    (setting && DOTTED_SETTING.test(key) ? secretNameKind(key) : null);
  // `--key env://COSIGN_PRIVATE_KEY IMAGE`: a reference to a secret, followed by something else.
  if (kind === null || /^\w+:\/\//.test(key)) return false;
  if (kind !== "strong") return setting && isSecretUnder(kind, value);
  return setting ? !/^[a-z]+$/.test(value) && isLiteralSecret(value) : looksRandom(value);
}

/**
 * A subcommand that names a secret or creates a user, an account, then the secret, last:
 * `drush user:password admin X`, `consul acl set-agent-token agent X`,
 * `bin/console app:create-user admin X`. Only a password-like last
 * word, so `npm token revoke 2bb381e9` (an id) and `kubectl create token ci --duration=1h`
 * stay.
 */
function accountThenSecret(words: readonly string[], i: number): boolean {
  if (i + 3 !== words.length || !SUBCOMMAND.test(words[i])) return false;
  const [account, secret] = [words[i + 1], words[i + 2]];
  // Not a flag, a short id (`npm token revoke 2bb381e9`) nor `user@host`.
  const chosen = secret.length >= 12 || /[!@#%^&*+=?]/.test(secret) ||
    /[A-Z]/.test(secret) && /[a-z]/.test(secret);
  return /^[a-z][\w.-]*$/.test(account) && !secret.startsWith("-") && !HOST_AFTER_AT.test(secret) &&
    chosen && passwordLike(secret) &&
    (secretNameKind(lastSegment(words[i])) === "strong" || CREATES_USER.test(words[i]));
}

/** `vault login TOKEN`, `snyk auth TOKEN`, `LOGIN user PASSWORD` (IMAP, in a here-string). */
function loginHoldsSecret(words: readonly string[], from: number): boolean {
  const first = words[from];
  if (first === undefined || first.startsWith("-")) return false;
  return looksRandom(first) || (words.length === from + 2 && looksRandom(words[from + 1]));
}

/** `/usr/bin/mysql` → `mysql`; `ProxyCommand=sshpass` → `sshpass`. */
function toolName(word: string): string {
  const name = word.slice(word.lastIndexOf("/") + 1);
  return name.includes("=") ? name.replace(/^[A-Za-z_]\w*=/, "") : name;
}

/** `//registry.npmjs.org/:_authToken` → `_authToken`; `spring.datasource.password` → `password`. */
function lastSegment(key: string): string {
  return key.slice(Math.max(key.lastIndexOf("/"), key.lastIndexOf(":"), key.lastIndexOf(".")) + 1);
}

function flagHoldsSecret(context: Context, flag: string, next?: string): boolean {
  const { rule } = context;
  const attached = rule?.attached?.find((f) => flag.length > 2 && flag.startsWith(f));
  if (attached) {
    const value = flag.slice(2);
    return rule!.credentials?.includes(attached) ? hasPassword(value) : isLiteralSecret(value);
  }
  // Bundled one-letter flags (`zip -rP X`, `ssh-keygen -qN X`): the last one takes the value.
  if (rule?.secret && /^-[a-zA-Z]{2,3}$/.test(flag) && rule.secret.includes(`-${flag.at(-1)}`)) {
    return next !== undefined && !next.startsWith("-") && isLiteralSecret(next);
  }
  const eq = flag.indexOf("=");
  // `--name=value` is a pair, judged as a word; a substituted file and `user:password`
  // under a vague name (`--basic-auth=a:X`) are left to see.
  if (eq >= 0) {
    const name = flag.slice(0, eq).replace(/^-+/, "");
    const value = flag.slice(eq + 1);
    return substitutedSecret(context, name, value) ||
      credentialsUnder(name, secretNameKind(name), value);
  }
  const value = next === undefined || next.startsWith("-") ? "" : next;
  if (rule?.optional?.includes(flag)) return false;
  if (rule?.secret?.includes(flag)) return isLiteralSecret(value);
  if (rule?.credentials?.includes(flag)) return hasPassword(value);
  if (flag === "-p") {
    return !PORT_LIKE.test(value) && isLiteralSecret(value) &&
      (context.namesUser ??= namesUser(context.words));
  }
  // `-P` and `-w` beside a user are passwords too (`ipmitool -U ADMIN -P X`, `vsql -U a
  // -w X`), but they also publish ports (`docker run -u app -P nginx`) and format output
  // (`curl -u a -w '%{http_code}'`): a value is taken only if it looks like a password.
  if (flag === "-P" || flag === "-w") {
    return !PORT_LIKE.test(value) && passwordLike(value) &&
      (context.namesUser ??= namesUser(context.words));
  }
  if (VALUE_FLAGS.has(flag)) {
    return isLiteralSecret(value) && (context.storesSecret ??= storesSecret(context.words));
  }
  if (USER_FLAG.test(flag)) return userWithPassword(value);
  const bare = flag.replace(/^-+/, "");
  // Other short flags mean a different thing to every tool: only the table knows them,
  // unless the flag is itself a secret word (`plink -pw X`).
  if (bare.length < 3 && !flag.startsWith("--") && !SECRET_SHORT_FLAGS.has(bare)) return false;
  const kind = secretNameKind(bare);
  if (value.startsWith("<(")) return substitutedSecret(context, bare, value);
  // A value of KEY=VALUE pairs is a spec (`--secret id=npm,src=…`), judged pair by pair.
  if (/^[A-Za-z_][\w.-]*=(?!=|$)/.test(value)) return false;
  return isSecretUnder(kind, value) || credentialsUnder(bare, kind, value);
}

/**
 * `--creds bot:X`, `-auth admin:X`: a vague name, so `user:password` only with a password
 * that looks like one (`--auth oauth:github` names a provider).
 */
function credentialsUnder(name: string, kind: NameKind, value: string): boolean {
  return kind === "weak" && CREDENTIAL_NAME.test(name) && userWithPassword(value) &&
    passwordLike(value.slice(value.indexOf(":") + 1));
}

/**
 * `user:password`, `user%password` (Samba) or `user,password` (lftp) with the password there
 * (not `user`, which prompts); or `KEY:`, an API key given as the user name.
 */
function hasPassword(value: string): boolean {
  const sep = value.search(/[:%,]/);
  // A user name holds no quotes, braces or spaces: `{"alg":"HS256"}` is JSON.
  if (/[\s{}"']/.test(value.slice(0, Math.max(sep, 0)))) return false;
  if (sep === value.length - 1 && value[sep] === ":") return looksRandom(value.slice(0, sep));
  return sep >= 0 && isLiteralSecret(value.slice(sep + 1));
}

/** `--user name:password`, but not `uid:gid` nor `www-data:www-data`. */
function userWithPassword(value: string): boolean {
  const [user, password] = value.split(/:(.*)/s);
  return password !== undefined && password !== user && !PORT_LIKE.test(value) &&
    hasPassword(value);
}

/**
 * `--vault-password-file <(echo hunter2)`: a literal made into a file on the spot; under
 * a vague flag, a password-like one to a command that stores secrets (`gcloud secrets
 * versions add db --data-file=<(echo -n X)`).
 */
function substitutedSecret(context: Context, flag: string, value: string): boolean {
  const inner = /^<\((?:echo|printf)\s+(?:-\w+\s+)*(.*)\)$/s.exec(value)?.[1];
  if (inner === undefined) return false;
  const literal = inner.replace(/^(['"])(.*)\1$/s, "$2");
  if (/pass|secret|token|key|cred/i.test(flag)) return isLiteralSecret(literal);
  return !/\s/.test(literal) && passwordLike(literal) &&
    context.words.some((word) => CONSUMERS.has(word));
}

/**
 * The literals `echo`/`printf` pipe into this command, a string PowerShell pipes
 * (`"X" | ConvertTo-SecureString`, `$s = "X" | …`), and its here-string.
 */
function fedLiterals(command: SimpleCommand): string[] {
  const from = command.pipedFrom?.words ?? [];
  const echoed = ["echo", "printf"].includes(toolName(from[0] ?? ""))
    ? from.slice(1).filter((arg) => !/^-[neE]+$/.test(arg) && !arg.includes("%"))
    : pipedString(from);
  return command.hereString === null ? echoed : [...echoed, command.hereString];
}

function pipedString(words: readonly string[]): string[] {
  const value = words.length === 1
    ? words[0]
    : words.length === 3 && words[1] === "="
    ? words[2]
    : "";
  return value === "" || CMDLET.test(value) ? [] : [value];
}

function fedLiteral(command: SimpleCommand): boolean {
  // `echo "deploy:$NEW_PW" | chpasswd`: the shell puts the secret in; the line holds none.
  return fedLiterals(command).some((text) => isLiteralSecret(text) && !EXPANSION.test(text));
}

/**
 * A password-like literal (random, or letters, digits and symbols; one word, not code)
 * fed to a command that stores or uses secrets (`echo X | wrangler secret put API_TOKEN`,
 * `gcloud secrets create k --data-file=- <<< X`) or logs a user in (`gcloud sql connect db
 * --user=postgres <<< X`), or being encoded (`echo -n 'bot:X' | base64`, `echo -n X |
 * base64` for a Kubernetes secret). The tool table knows the commands that read a
 * password whatever it looks like.
 */
function feedsSecretConsumer(command: SimpleCommand): boolean {
  const literals = fedLiterals(command);
  if (literals.length === 0) return false;
  const password = literals.some((text) => !/\s/.test(text) && passwordLike(text));
  if (toolName(command.words[0] ?? "") === "base64") {
    // Decoding shows what a value holds (`echo 'eyJ…' | base64 -d`): it is not being made.
    // A lower-case slug (`my-app-2024`) is a name or a host put into a manifest.
    const decoding = command.words.some((word) => DECODE_FLAG.test(word));
    const encoded = password && !literals.every((text) => SLUG.test(text));
    return !decoding && encoded || literals.some(hasPassword);
  }
  if (!password) return false;
  return command.words.some((word) =>
    CONSUMERS.has(word) || secretNameKind(lastSegment(word)) === "strong" || USER_FLAG.test(word) ||
    /^--user(?:name)?=./.test(word)
  );
}

/** `echo X > /etc/k3s/token`, `echo '…' >> ~/.netrc`, `tee .pgpass <<< '…'`. */
function writesCredentials(command: SimpleCommand): boolean {
  const [tool, ...args] = command.words;
  const targets = toolName(tool ?? "") === "tee"
    ? [...command.writesTo, ...args.filter((a) => !a.startsWith("-"))]
    : command.writesTo;
  const credentialFile = targets.some((file) =>
    CREDENTIAL_FILES.test(file) || secretNameKind(lastSegment(file)) === "strong"
  );
  if (!credentialFile) return false;
  const written = ["echo", "printf"].includes(toolName(tool ?? ""))
    ? args.filter((arg) => !/^-[neE]+$/.test(arg))
    : fedLiterals(command);
  // A credential file's fields are secret wherever they sit (`host:port:db:user:PASSWORD`).
  return written.some((text) =>
    wordHoldsSecret(text) || text.split(/[\s:]+/).some((field) => looksRandom(field))
  );
}
