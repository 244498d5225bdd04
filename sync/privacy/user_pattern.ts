import { RE2JS } from "re2js";
import { BoundedMap } from "../bounded_map.ts";

/**
 * User-supplied regular expressions (`secret_patterns`, `history_rules`, later redaction)
 * run in RE2's linear-time engine (DESIGN.md §5): V8's backtracking engine takes seconds on
 * `(a+)+$` against 28 `a`s and `!`, and the event loop is shared by every user.
 *
 * RE2 syntax is Perl's without backreferences or lookaround; `(?i)` and the other inline
 * flags work anywhere. A pattern RE2 cannot compile, or whose program is too large to run
 * cheaply on every command, is refused with a reason.
 * @module
 */

/** A user pattern that compiled: `test` answers in time linear in the text. */
export interface UserPattern {
  readonly source: string;
  /** True when the pattern matches anywhere in `text`. */
  test(text: string): boolean;
}

export type CompiledPattern =
  | { ok: true; pattern: UserPattern }
  | { ok: false; reason: string };

/**
 * Matching costs text length × program size; these bound the second factor so that a
 * 64 KiB command against a user's whole list stays in the low milliseconds.
 */
export const MAX_PROGRAM_SIZE = 1_000;
export const MAX_TOTAL_PROGRAM_SIZE = 20_000;
const CACHE_LIMIT = 512;

/**
 * Compiles one pattern, or says why it is refused.
 * @example
 * const compiled = compileUserPattern("(?i)acme_[a-z0-9]{32}");
 * if (compiled.ok) compiled.pattern.test("ACME_..."); else console.log(compiled.reason);
 */
export function compileUserPattern(source: string): CompiledPattern {
  return compiledEntry(source).result;
}

/**
 * One program testing whether any of `sources` matches, compiled once and cached by the
 * list's text: one pass over the text instead of one per pattern. Refused patterns are
 * left out (they were refused when the settings were written; stored ones may predate a
 * rule), as are patterns past the total program budget.
 */
export function compileUserPatterns(sources: readonly string[]): UserPattern | null {
  const key = sources.join("\u0000");
  const cached = sets.get(key);
  if (cached !== undefined) return cached;
  const usable: string[] = [];
  let total = 0;
  for (const source of sources) {
    const { result, size } = compiledEntry(source);
    if (!result.ok || total + size > MAX_TOTAL_PROGRAM_SIZE) continue;
    total += size;
    usable.push(source);
  }
  // Each source compiled alone, so wrapping it in a group cannot change its meaning:
  // inline flags such as (?i) stay scoped to their own alternative.
  const set = usable.length === 0
    ? null
    : linear(usable.join("\n"), RE2JS.compile(usable.map((s) => `(?:${s})`).join("|")));
  sets.set(key, set);
  return set;
}

interface Entry {
  result: CompiledPattern;
  size: number;
}

function compiledEntry(source: string): Entry {
  const cached = singles.get(source);
  if (cached) return cached;
  const entry = compileUncached(source);
  singles.set(source, entry);
  return entry;
}

function compileUncached(source: string): Entry {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (error) {
    const detail = error instanceof Error
      ? error.message.replace(/^error parsing regexp: /, "")
      : "";
    const reason = `Not supported by the linear-time engine (RE2 syntax): ${detail}`;
    return { result: { ok: false, reason }, size: 0 };
  }
  const size = re.programSize();
  if (size > MAX_PROGRAM_SIZE) {
    const reason = `Too complex: ${size} instructions, at most ${MAX_PROGRAM_SIZE}`;
    return { result: { ok: false, reason }, size };
  }
  return { result: { ok: true, pattern: linear(source, re) }, size };
}

function linear(source: string, re: RE2JS): UserPattern {
  return { source, test: (text) => re.test(text) };
}

const singles = new BoundedMap<string, Entry>(CACHE_LIMIT);
const sets = new BoundedMap<string, UserPattern | null>(CACHE_LIMIT);
