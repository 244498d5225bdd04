/**
 * What a name says about its value (`DB_PASSWORD`, `--api-key`, `clientSecret`,
 * `X-Auth-Token`) and whether a value is a literal secret rather than a reference to one
 * (`$TOKEN`, `$(pass show x)`, `~/.pgpass`, `<password>`).
 * @module
 */

/**
 * `strong`: the value is a secret whenever it is a literal. `weak`: the name is vague
 * (`auth`, `session`, `sig`, a bare `secret`), so only a random-looking value counts.
 * `long`: any other `…_KEY` (`COSMOS_KEY`, but also `GPG_KEY=3AA5C343…`, a key id): only a
 * long random value counts.
 */
export type NameKind = "strong" | "weak" | "long" | null;

// A name is secret when its parts, joined, end with one of these…
const ENDINGS = new RegExp(
  "(?:password|passwd|passphrase|pass|passin|passout|passcode|pwd|pw|psk|token|authorization|" +
    "mnemonic|seedphrase|" +
    "(?:client|webhook|shared|signing|jwt|session|app)secret|(?:api|access|account|auth|" +
    "master|encryption|decryption|storage|app|admin|service|license|subscription|sas|" +
    "secret|private|jwt|hmac|aes|crypt|cipher|session|cookie|csrf|otp|totp|unseal)key)$",
);
// …or when one part is one of these and the last part does not make it a mere setting.
const STRONG_PARTS = new Set(["password", "passwd", "passphrase", "secret", "token", "apikey"]);
const SETTING_TAILS = words(
  "name names id ids file files path dir ttl url uri length len min max type types env region " +
    "hash arn version count prompt stdin helper policy mode enabled disabled required seconds " +
    "timeout expiry expires expiration header field format endpoint host port user username size " +
    "limit fd cmd command var ref location provider method manager scope scopes label template " +
    "rotation source kind algorithm cache server lifetime duration validity age store reset " +
    "secrets tokens",
);
// First parts that turn a secret-sounding flag into a switch (`--no-password`, `--ask-pass`).
const SWITCH_HEADS = words(
  "no ask prompt with without use show print generate gen reset skip read forget rotate revoke " +
    "list get create delete remove refresh random empty allow disable enable max min require",
);
const NOT_SECRETS = new Set(["bypass", "askpass", "compass", "nopass"]);
// Parts that make the value the name of a secret kept elsewhere (`existingSecret`), or
// not a secret at all (`WG_PUBLIC_KEY`, `NEXT_PUBLIC_…`, shipped to every browser).
const REFERRING_PARTS = new Set(["existing", "external", "ref", "public", "publishable"]);
// Keys that look records up or dedupe requests (`Idempotency-Key: <uuid>`, `--partition-key`).
const LOOKUP_KEY_PARTS = words("idempotency dedup deduplication partition sort routing cache");
const WEAK = words(
  "auth session sessionid sid sig signature secret secretid creds credential credentials cookie",
);
// A personal access token (`GH_PAT`, `AZURE_DEVOPS_EXT_PAT`): a whole last part, since
// `compat` and `path` end or start the same way.
const PAT = "pat";

// Every secret name holds one of these (a wallet's `MNEMONIC`, `SEED_PHRASE` too); most words hold none, and this test is cheap.
const VOCABULARY =
  /pass|pw|psk|secret|token|key|auth|sig|cred|session|sid|cookie|pat|mnemonic|phrase/i;
// The longest ENDINGS alternative: the regex only needs the tail.
const LONGEST_ENDING = 24;

// Names recur (flags, variables): classifying one costs a microsecond, looking it up far less.
// Bounded in count and in name length, so hostile input cannot make it large.
const KNOWN_NAMES_LIMIT = 4096;
const KNOWN_NAME_LENGTH = 64;
const knownNames = new Map<string, NameKind>();

/** How strongly `name` says its value is a secret; null when it does not. */
export function secretNameKind(name: string): NameKind {
  if (!VOCABULARY.test(name)) return null;
  if (name.length > KNOWN_NAME_LENGTH) return classify(name);
  let kind = knownNames.get(name);
  if (kind === undefined) {
    kind = classify(name);
    if (knownNames.size >= KNOWN_NAMES_LIMIT) knownNames.clear();
    knownNames.set(name, kind);
  }
  return kind;
}

function classify(name: string): NameKind {
  const parts = nameParts(name);
  if (parts.length === 0) return null;
  const joined = parts.join("");
  if (NOT_SECRETS.has(joined) || SWITCH_HEADS.has(parts[0]) && parts.length > 1) return null;
  if (parts.some((p) => REFERRING_PARTS.has(p))) return null;
  if (WEAK.has(joined)) return "weak";
  if (ENDINGS.test(joined.slice(-LONGEST_ENDING))) return "strong";
  const tail = parts[parts.length - 1];
  if (tail === PAT) return "strong";
  if (parts.some((p) => STRONG_PARTS.has(p)) && !SETTING_TAILS.has(tail)) return "strong";
  if (tail === "key" || joined.endsWith("key")) {
    return parts.some((p) => LOOKUP_KEY_PARTS.has(p)) ? null : "long";
  }
  // `REDISCLI_AUTH`, `X_GOOG_SIGNATURE`: a vague word that ends a longer name is as vague.
  // `TWILIO_ACCOUNT_SID`, `ServiceSid`: a qualified SID is a resource id, not a session's.
  if (tail === "sid" && parts.length > 1 && !WEAK.has(parts[parts.length - 2])) return null;
  return WEAK.has(tail) ? "weak" : null;
}

/** `--Client_secretKey` → ["client", "secret", "key"]: lower-case words of any naming style. */
function nameParts(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).filter(
    Boolean,
  );
}

// `env.X` (jq), `var.x` (Terraform), `secrets.X` (CI) and `process.env.X` name variables too;
// an AWS ARN (`arn:aws:secretsmanager:…:secret:prod/db-AbCdEf`) names a resource.
const REFERENCE =
  /^(?:\$|%\w+%|`|<.*>$|[{[(]|@|\/|~|\.\.?\/|file:|env:|fd:|arn:|stdin$|-$|(?:env|var|secrets|process\.env)\.[A-Za-z_])/;
// Words that stand for a value: `:env`/`:file` modifiers (keytool), documentation's
// `changeme`, `YOUR_API_KEY`, `token_here`.
const PLACEHOLDER =
  /^(?:x+|\*+|\.+|_+|#+|redacted|hidden|masked|null|none|nil|true|false|yes|no|on|off|empty|undefined|required|optional|env|file|change_?me|replace_?me|your[_-]\w+|\w+[_-]here)$/i;
// A value cut short for the reader: `sk-...`.
const ELIDED = /(?:\.\.\.|\u2026)$/;
const FILE_NAME = /\.(?:pem|key|crt|cer|p12|pfx|jks|json|txt|asc|gpg|env|ya?ml|conf|cfg|ini)$/i;

/**
 * True when `value` is a literal that could be the secret itself: not empty, not a
 * variable, command substitution, path, file name or placeholder, and not a pattern.
 */
export function isLiteralSecret(value: string): boolean {
  return value.length >= 3 && !REFERENCE.test(value) &&
    !PLACEHOLDER.test(value.replace(/[^A-Za-z0-9]+$/, "")) && !FILE_NAME.test(value) &&
    !value.includes("*") && !ELIDED.test(value);
}

// Lower-case words joined by . / : — host names, host:port, image:tag, paths, sha256:… digests.
const LOWER_PATH = /^[a-z0-9_-]+(?:[./:][a-z0-9_-]+)+$/;

/**
 * True when `value` looks generated rather than chosen from words: long enough, with
 * letters and digits, and not a host, path, image or URL. For vague names and bare
 * positional arguments.
 */
export function looksRandom(value: string): boolean {
  return value.length >= 8 && (/[A-Za-z]/.test(value) && /\d/.test(value) || mixedCase(value)) &&
    !value.includes("://") && !LOWER_PATH.test(value) &&
    (value.length >= 16 || !/[/:]/.test(value)) && isLiteralSecret(value);
}

/** Random, or with the symbols people put in passwords: not a word such as an image name. */
export function passwordLike(value: string): boolean {
  return looksRandom(value) ||
    isLiteralSecret(value) && /[!@#%^&*+=?]/.test(value) && /\d/.test(value) &&
      /[A-Za-z]/.test(value);
}

/** Long and about as much upper as lower case: random letters, not a camelCase name. */
function mixedCase(value: string): boolean {
  const upper = value.replace(/[^A-Z]/g, "").length;
  const lower = value.replace(/[^a-z]/g, "").length;
  return value.length >= 16 && upper >= value.length / 4 && lower >= value.length / 4;
}

/** True when a value under a name of this kind is a secret. */
export function isSecretUnder(kind: NameKind, value: string): boolean {
  if (kind === "strong") return isLiteralSecret(value);
  if (kind === "weak") return looksRandom(value);
  if (kind === "long") return value.length >= 24 && looksRandom(value);
  return false;
}

function words(list: string): ReadonlySet<string> {
  return new Set(list.split(" "));
}
