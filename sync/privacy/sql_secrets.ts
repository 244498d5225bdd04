import { isLiteralSecret, isSecretUnder, secretNameKind } from "./secret_names.ts";

/**
 * Passwords in SQL run from the shell (`psql -c`, `mysql -e`, a here-document), where the
 * statement's own words say what the literal is.
 * @module
 */

// SQL run from the shell: `IDENTIFIED BY 'x'`, `WITH PASSWORD 'x'`, `SET PASSWORD = 'x'`.
// Linear: each starts at a keyword and its loops stop at whitespace or a quote.
// DB2 and others: `CONNECT TO db USER name USING password`.
const SQL_PASSWORD =
  /\bidentified\s+(?:with\s+\S+\s+)?by\s+(?:password\s*)?\(?(['"])([^'"]*)\1|\bpassword\s*=?\s*\(?(['"])([^'"]*)\3|\buser\s+\S+\s+using\s+(['"]?)([^'"\s]+)\5/gi;

// `INSERT INTO clients (name, secret) VALUES ('ci', 'X')`: a column that says secret, and
// the literal in its place. Bounded lists, so each start costs a few hundred steps at most.
const SQL_INSERT =
  /\binsert\s+into\s+[\w."`]{1,100}\s*\(([^()]{1,300})\)\s*values\s*\(([^()]{1,600})\)/gi;
// One value of a VALUES list: a quoted literal (`''` escapes a quote) or anything to a comma.
const SQL_VALUE = /\s*(?:'((?:[^']|'')*)'|[^,]*)\s*(?:,|$)/gy;

/** True when SQL in `text` sets or stores a literal password. */
export function holdsSqlPassword(text: string): boolean {
  for (const match of text.matchAll(SQL_PASSWORD)) {
    if (isLiteralSecret(match[2] ?? match[4] ?? match[6])) return true;
  }
  if (!text.includes("(")) return false;
  for (const match of text.matchAll(SQL_INSERT)) {
    const columns = match[1].split(",").map((column) => column.trim().replace(/["`]/g, ""));
    const values = [...match[2].matchAll(SQL_VALUE)].map((value) => value[1]);
    const found = columns.some((column, i) => {
      const value = values[i];
      return value !== undefined && isSecretUnder(secretNameKind(column), value);
    });
    if (found) return true;
  }
  return false;
}
