/**
 * Outcome helpers every strategy shares. The service writes a new version only for
 * `take_local` and `merged`, so a result equal to the stored version must come back as
 * `keep_remote`, and one equal to the incoming version as `take_local`: never a
 * `merged` copy of either side.
 * @module
 */
import { jsonEqual, type PlainObject } from "./canonical.ts";
import type { Verdict } from "./three_way.ts";
import type { MergeInput, Outcome, Version } from "./types.ts";

export const KEEP_REMOTE: Outcome = Object.freeze({ kind: "keep_remote" });
export const TAKE_LOCAL: Outcome = Object.freeze({ kind: "take_local" });
export const MANUAL: Outcome = Object.freeze({ kind: "manual" });

/** What a version holds, without who wrote it or when. */
export interface Content {
  data: PlainObject | null;
  deleted: boolean;
}

/** Same data and tombstone state; all tombstones are equal whatever data they carry. */
export function sameContent(a: Content, b: Content): boolean {
  if (a.deleted || b.deleted) return a.deleted === b.deleted;
  return jsonEqual(a.data ?? {}, b.data ?? {});
}

/**
 * The answer when there is nothing to merge: both sides hold the same content
 * (`keep_remote`, which makes every merge idempotent), or only one side changed since
 * `base` (that side, so a one-sided change is never lost).
 */
export function trivialOutcome({ base, local, remote }: MergeInput): Outcome | undefined {
  if (sameContent(local, remote)) return KEEP_REMOTE;
  if (base === null) return undefined;
  if (sameContent(local, base)) return KEEP_REMOTE;
  if (sameContent(remote, base)) return TAKE_LOCAL;
  return undefined;
}

/**
 * Maps a merged `data` to the cheapest outcome that stores it, from the merge's own
 * verdict of whether it equals either side (both sides live, not tombstones).
 */
export function settle(input: MergeInput, data: PlainObject, verdict: Verdict): Outcome {
  if (verdict.equalsRemote) return KEEP_REMOTE;
  if (verdict.equalsLocal) return TAKE_LOCAL;
  return {
    kind: "merged",
    data,
    deleted: false,
    modified_at: Math.max(input.local.modified_at, input.remote.modified_at),
  };
}

/** The version an outcome leaves stored: what tests and callers compare. */
export function applyOutcome(input: MergeInput, outcome: Outcome): Content {
  switch (outcome.kind) {
    case "take_local":
      return contentOf(input.local);
    case "keep_remote":
    case "manual":
      return contentOf(input.remote);
    case "merged":
      return { data: outcome.data, deleted: outcome.deleted };
  }
}

function contentOf(version: Version): Content {
  return { data: version.deleted ? null : version.data, deleted: version.deleted };
}
