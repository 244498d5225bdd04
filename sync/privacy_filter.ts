/**
 * Decides which commands are too sensitive to store (DESIGN.md §5). The patterns are
 * data: the built-in list below plus the user's `secret_patterns` from the `sync`
 * settings namespace.
 */
export const BUILTIN_SECRET_PATTERNS: readonly string[] = [
  // Cloud and SaaS keys with recognisable prefixes.
  String.raw`\bAKIA[0-9A-Z]{16}\b`,
  String.raw`\bASIA[0-9A-Z]{16}\b`,
  String.raw`\bgh[pousr]_[A-Za-z0-9]{36,}\b`,
  String.raw`\bgithub_pat_[A-Za-z0-9_]{22,}\b`,
  String.raw`\bglpat-[A-Za-z0-9_-]{20,}\b`,
  String.raw`\bxox[abpors]-[A-Za-z0-9-]{10,}\b`,
  String.raw`\bsk-(proj-|ant-)?[A-Za-z0-9_-]{20,}\b`,
  String.raw`\bAIza[0-9A-Za-z_-]{35}\b`,
  String.raw`\b(sk|rk)_live_[0-9A-Za-z]{16,}\b`,
  String.raw`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`,
  // Secrets in environment exports and assignments.
  String
    .raw`(?i)\b(export\s+|set\s+|env\s+)?[A-Z0-9_]*(SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)[A-Z0-9_]*\s*=\s*\S+`,
  // Passwords and tokens in flags.
  String
    .raw`(?i)(--?(password|passwd|pass|token|secret|api-?key|access-?key|client-?secret)(=|\s+)\S+)`,
  String.raw`(?i)\b(mysql|mariadb|psql|mongo\w*)\b.*\s-p\S+`,
  String.raw`(?i)\bAuthorization:\s*(Bearer|Basic|token)\s+\S+`,
  String.raw`(?i)\bcurl\b.*\s(-u|--user)\s+\S+:\S+`,
  // Credentials in URLs: `scheme://user:pass@`. The scheme is a lookbehind so the search
  // starts at each "://" rather than at every letter (10x cheaper on commands, same matches).
  String.raw`(?<=[a-zA-Z][a-zA-Z0-9+.-]*)://[^\s/:@]+:[^\s/@]+@`,
  // Private key blocks.
  String.raw`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----`,
  String.raw`PuTTY-User-Key-File-\d`,
];

const PRIVATE_KEY = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-\d/;

/** A compiled set of secret patterns. */
export class PrivacyFilter {
  readonly #patterns: RegExp[];

  /** Invalid user patterns are skipped here; they are refused when the settings are written. */
  constructor(extraPatterns: readonly string[] = []) {
    this.#patterns = [...BUILTIN_SECRET_PATTERNS, ...extraPatterns].flatMap((p) => {
      const compiled = compilePattern(p);
      return compiled ? [compiled] : [];
    });
  }

  /** True when the command text carries something that looks like a secret. */
  isSecret(command: string): boolean {
    return this.#patterns.some((pattern) => pattern.test(command));
  }
}

/** The default filter, shared because it is immutable. */
export const DEFAULT_FILTER = new PrivacyFilter();

/**
 * Compiles a pattern; a leading `(?i)` (common in other tools' pattern lists) becomes
 * the `i` flag. Returns null for a pattern JavaScript cannot compile.
 */
export function compilePattern(pattern: string): RegExp | null {
  const insensitive = pattern.startsWith("(?i)");
  try {
    return new RegExp(insensitive ? pattern.slice(4) : pattern, insensitive ? "i" : "");
  } catch {
    return null;
  }
}

/** True when any string anywhere in `value` holds private key material. */
export function containsPrivateKey(value: unknown): boolean {
  if (typeof value === "string") return PRIVATE_KEY.test(value);
  if (Array.isArray(value)) return value.some(containsPrivateKey);
  if (value && typeof value === "object") return Object.values(value).some(containsPrivateKey);
  return false;
}
