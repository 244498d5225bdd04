/** How deep data may nest (DESIGN.md §5); the outermost object or array is level 1. */
export const MAX_DEPTH = 64;

/** Where a JSON value cannot be stored, as a field path, and why. */
export interface Unstorable {
  path: (string | number)[];
  reason: string;
}

/** Longest key shown in a path: a path names a field, it does not echo a megabyte key. */
const SHOWN_KEY_CHARS = 100;

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | null;
  step: string | number | null;
}

/**
 * The first place, in document order, where a parsed JSON value holds what Postgres `jsonb`
 * and `text` refuse (NUL, a lone UTF-16 surrogate; in a string or an object key), a
 * `__proto__` key (which JavaScript objects and zod drop silently), or nesting deeper than
 * `maxDepth`. Iterative, so it is safe on hostile nesting: run it before any recursive walk.
 * @example findUnstorable({ a: ["ok", "\u0000"] }) // { path: ["a", 1], reason: "…" }
 */
export function findUnstorable(value: unknown, maxDepth = MAX_DEPTH): Unstorable | null {
  const stack: Frame[] = [{ value, depth: 1, parent: null, step: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value: current, depth } = frame;
    if (typeof current === "string") {
      const problem = textProblem(current);
      if (problem) return { path: pathOf(frame), reason: `must not contain ${problem}` };
      continue;
    }
    if (typeof current !== "object" || current === null) continue;
    if (depth > maxDepth) {
      return { path: pathOf(frame), reason: `nests deeper than ${maxDepth} levels` };
    }
    const children: Frame[] = [];
    if (Array.isArray(current)) {
      current.forEach((item, i) => children.push(child(item, frame, i)));
    } else {
      for (const [key, item] of Object.entries(current)) {
        const problem = key === "__proto__" ? "__proto__" : textProblem(key);
        if (problem) {
          return {
            path: pathOf(child(null, frame, key)),
            reason: problem === "__proto__"
              ? "__proto__ is not accepted as a key"
              : `key must not contain ${problem}`,
          };
        }
        children.push(child(item, frame, key));
      }
    }
    // Reversed onto the stack, so the first child is looked at first.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return null;
}

function child(value: unknown, parent: Frame, step: string | number): Frame {
  return { value, depth: parent.depth + 1, parent, step };
}

function textProblem(text: string): string | null {
  if (text.includes("\u0000")) return "NUL (\\u0000)";
  if (!text.isWellFormed()) return "a lone UTF-16 surrogate";
  return null;
}

/** The steps from the root to `frame`; keys printable (NUL and lone surrogates escaped), capped. */
function pathOf(frame: Frame): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Frame | null = frame; at && at.step !== null; at = at.parent) {
    path.push(typeof at.step === "string" ? printable(at.step) : at.step);
  }
  return path.reverse();
}

function printable(key: string): string {
  const shown = key.length > SHOWN_KEY_CHARS ? `${key.slice(0, SHOWN_KEY_CHARS)}…` : key;
  return shown.toWellFormed() === shown && !shown.includes("\u0000")
    ? shown
    : escapeUnstorable(shown);
}

function escapeUnstorable(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const high = unit >= 0xd800 && unit <= 0xdbff;
    const low = unit >= 0xdc00 && unit <= 0xdfff;
    const next = text.charCodeAt(i + 1);
    if (high && next >= 0xdc00 && next <= 0xdfff) {
      out += text[i] + text[i + 1];
      i++;
    } else if (unit === 0 || high || low) {
      out += `\\u${unit.toString(16).padStart(4, "0")}`;
    } else {
      out += text[i];
    }
  }
  return out;
}
