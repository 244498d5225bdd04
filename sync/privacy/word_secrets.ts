import { isLiteralSecret, isSecretUnder, looksRandom, secretNameKind } from "./secret_names.ts";

/**
 * Secrets that show in a single word, whatever the command: `NAME=VALUE` and
 * `"name": "value"` pairs whose name says secret (env prefixes, `--flag=`, JSON, YAML,
 * headers, URL queries, connection strings), and credentials in URLs.
 * @example wordHoldsSecret("Password=hunter2;Server=db") // true
 */
export function wordHoldsSecret(word: string): boolean {
  if (word.includes("@") && credentialsBeforeHost(word)) return true;
  for (let i = 0; i < word.length; i++) {
    const c = word[i];
    if (c !== "=" && c !== ":") continue;
    // `token::tests` (Rust, C++, Perl paths) and `a==b` join names, not a name and a value;
    // `${TOKEN:?unset}` is a shell expansion's message.
    if (word[i + 1] === c || word[i - 1] === c || word[i + 1] === "?") continue;
    const kind = secretNameKind(nameBefore(word, i));
    if (kind === null) continue;
    const value = valueAfter(word, i);
    // `token:user:42`, `auth:token:8f2b4c6d`: a namespaced key (Redis, caches), not a name
    // and its value.
    if (c === ":" && (NAMESPACED_KEY.test(value) || NAMESPACED_WORD.test(word))) continue;
    if (isSecretUnder(kind, value)) return true;
  }
  return false;
}

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const NAMESPACED_KEY = /^[a-z0-9_-]+(?::[a-z0-9_-]+)+$/;
// `auth:token:8f2b4c6d`: three or more segments make a key path, whatever they say.
const NAMESPACED_WORD = /^[a-z0-9_-]+(?::[a-z0-9_-]+){2,}$/;
const VALUE_END = /[\s"'`,;&=}\])|<>]/;
const AUTH_SCHEME = /^(?:bearer|basic|token|digest|bot|apikey|api-key|sso-key|ssws|hmac|key)$/i;

/** The name left of a separator: `password` in `password = "x"`, `"password": "x"`, `["password"] = "x"`. */
function nameBefore(word: string, sep: number): string {
  let end = sep;
  while (word[end - 1] === " ") end--;
  // `os.environ["API_KEY"] = "x"`, `ENV['TOKEN'] = 'x'`: a subscript names the value too.
  if (word[end - 1] === "]" && (word[end - 2] === '"' || word[end - 2] === "'")) end--;
  if (word[end - 1] === '"' || word[end - 1] === "'") end--;
  let start = end;
  while (start > 0 && NAME_CHAR.test(word[start - 1])) start--;
  return word.slice(start, end);
}

/** The value right of a separator; after `Authorization: Bearer`, the token. */
function valueAfter(word: string, sep: number): string {
  let i = sep + 1;
  if (word[i] === ">") i++; // Ruby and Puppet hashes: `password => 'x'`
  while (word[i] === " ") i++;
  if (word[i] === '"' || word[i] === "'") i++;
  const value = readValue(word, i);
  if (!AUTH_SCHEME.test(value)) return value;
  // `Authorization: Bearer` alone (`grep -c 'Authorization: Bearer' log`) carries nothing.
  return word[i + value.length] === " " ? readValue(word, i + value.length + 1) : "";
}

function readValue(word: string, start: number): string {
  let end = start;
  while (end < word.length && !VALUE_END.test(word[end])) end++;
  return word.slice(start, end);
}

// `user:password@host`, with or without a scheme; the password stops at `@`, `/` or space.
// Bounded, so a long run without `@` costs each start at most 256 steps.
const USERINFO = /(?:^|[\s/"'=])([^\s:/@"'=]*):([^\s/@"']{1,256})@[\w-]/g;
// `https://TOKEN@host`, `https://KEY:@host`: a token as the user name.
const TOKEN_USER = /:\/\/([^\s:/@"']+):?@/g;
// `image:1.2@sha256:…` names a digest after the `@`, not a host.
const DIGEST = /^sha(?:256|384|512):/;

/** `scheme://user:password@host`, `user:password@host` or `scheme://TOKEN@host`. */
function credentialsBeforeHost(word: string): boolean {
  for (const match of word.matchAll(USERINFO)) {
    const host = match.index + match[0].length - 1;
    if (
      isLiteralSecret(match[2]) && match[2] !== match[1] && !DIGEST.test(word.slice(host, host + 7))
    ) {
      return true;
    }
  }
  for (const match of word.matchAll(TOKEN_USER)) {
    if (looksRandom(match[1])) return true;
  }
  return false;
}
