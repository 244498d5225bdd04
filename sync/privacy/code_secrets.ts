import { isLiteralSecret, isSecretUnder, passwordLike, secretNameKind } from "./secret_names.ts";

/**
 * Credentials in code run from the shell (`python -c`, `node -e`, `perl -e`, `php -r`,
 * `manage.py shell -c`), given to a call by position, where no name says what they are.
 *
 * Linear: each pattern starts at a fixed word and its repeats are bounded, so a start
 * costs at most a few hundred steps.
 * @module
 */

// Calls that take a user and a password by position, often after a DSN or host:
// `new PDO(dsn, "root", "X")`, `DBI->connect(dsn, "app", "X")`,
// `create_superuser('admin', 'a@b.c', 'X')`, `HTTPBasicAuth('u', 'X')`, sbt's
// `Credentials(realm, host, user, "X")`.
const LOGIN_CALL =
  /\b(?:connect|PDO|login|authenticate|create_?superuser|create_?user|(?:Network|PS|UsernamePassword)?Credentials?|HTTP(?:Basic|Digest)Auth|BasicAuth)\s*\(([^()\n]{1,300})\)/gi;
// `auth=('ops', 'X')`, `http_auth: ["elastic", "X"]`: a user and its password as a pair.
const AUTH_PAIR =
  /\b(?:(?:http|basic)_?)?(?:auth|credentials)\s*[=:]\s*[([]\s*(['"])[^'"\n]{0,100}\1\s*,\s*(['"])([^'"\n]{1,200})\2/gi;
// `jwt.sign(payload, 'X')`, `jwt.decode(token, 'X', algorithms=[…])`: the signing key, a
// literal argument after the first (not a key of an object literal: `{"sub": "1"}`).
const JWT_CALL =
  /\bjwt\.(?:sign|verify|encode|decode)\s*\([^\n]{0,200}?,\s*(['"])([^'"\n]{1,200})\1(?=\s*[,)])/gi;
// `[Environment]::SetEnvironmentVariable("DB_PASSWORD", "X", "User")`, `os.putenv('TOKEN',
// 'X')`, `localStorage.setItem("token", "X")`: a name and its value as the first two literals.
const SET_CALL =
  /\b(?:SetEnvironmentVariable|setenv|putenv|setItem|setdefault)\s*\(\s*(['"])([\w.-]{1,100})\1\s*,\s*(['"])([^'"\n]{1,200})\3/gi;
const LITERAL = /(['"])([^'"\n]*)\1/g;
const EMAIL = /^[^@\s]+@[\w-]+\.[\w.-]+$/;
const ALGORITHM = /^(?:[HREP]S\d{3}|none)$/i;

/** True when `text` passes a literal password, signing key or named secret to a call by position. */
export function holdsCodeCredential(text: string): boolean {
  if (!text.includes("(")) return false;
  for (const call of text.matchAll(LOGIN_CALL)) {
    // The first literal is a DSN, a host or a user; a password comes after it, in one word
    // (`login('admin', 'Welcome to 2024!')` passes a message).
    const literals = [...call[1].matchAll(LITERAL)].slice(1).map((literal) => literal[2]);
    const password = (literal: string) =>
      !/\s/.test(literal) && !EMAIL.test(literal) && passwordLike(literal);
    if (literals.some(password)) return true;
  }
  for (const call of text.matchAll(SET_CALL)) {
    if (isSecretUnder(secretNameKind(call[2]), call[4])) return true;
  }
  for (const pair of text.matchAll(AUTH_PAIR)) {
    if (isLiteralSecret(pair[3])) return true;
  }
  for (const call of text.matchAll(JWT_CALL)) {
    if (isLiteralSecret(call[2]) && !ALGORITHM.test(call[2])) return true;
  }
  return false;
}
