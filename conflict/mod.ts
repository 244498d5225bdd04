/**
 * The conflict engine: pure strategies `({base, local, remote}, options) → Outcome`
 * (DESIGN.md §4). No I/O, no clocks, no randomness; the same input gives the same
 * outcome on every server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isStrategyName, resolve } from "./mod.ts";
 * const chosen: unknown = "timestamp"; // e.g. from the `sync` settings
 * const v = (modified_at: number) =>
 *   ({ data: { a: modified_at }, deleted: false, modified_at, device_id: "d" });
 * if (isStrategyName(chosen)) {
 *   const outcome = resolve(chosen, { base: null, local: v(2), remote: v(1) }, {
 *     setFields: [],
 *     dedupeKey: [],
 *   });
 *   assert.equal(outcome.kind, "take_local");
 * }
 * ```
 * @module
 */
import { additive } from "./additive.ts";
import { UnknownStrategyError } from "./errors.ts";
import { fieldMerge } from "./field_merge.ts";
import { localPriority } from "./local_priority.ts";
import { manual } from "./manual.ts";
import { remotePriority } from "./remote_priority.ts";
import { timestamp } from "./timestamp.ts";
import type { MergeInput, MergeOptions, Outcome, Strategy, StrategyName } from "./types.ts";

export type * from "./types.ts";
export { additive, fieldMerge, localPriority, manual, remotePriority, timestamp };
export { UnknownStrategyError } from "./errors.ts";
export { compareVersions, laterSide, type Side } from "./timestamp.ts";
export { applyOutcome, type Content, sameContent } from "./settle.ts";
export { canonicalJson, jsonEqual } from "./canonical.ts";

/** Every strategy by its wire name; a new `StrategyName` without one fails `deno check`. */
export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = Object.freeze({
  local_priority: localPriority,
  remote_priority: remotePriority,
  timestamp,
  field_merge: fieldMerge,
  additive,
  manual,
});

/** The wire names of all strategies. */
export const STRATEGY_NAMES: readonly StrategyName[] = Object.freeze(
  Object.keys(STRATEGIES) as StrategyName[],
);

/** True for the wire name of a strategy: guards user-supplied `conflict_strategies`. */
export function isStrategyName(value: unknown): value is StrategyName {
  return typeof value === "string" && Object.hasOwn(STRATEGIES, value);
}

/**
 * Runs the strategy named `name`.
 * @throws {UnknownStrategyError} when `name` is not a strategy (only reachable from
 * unchecked casts: check untrusted names with {@linkcode isStrategyName}).
 */
export function resolve(name: StrategyName, input: MergeInput, options: MergeOptions): Outcome {
  if (!isStrategyName(name)) throw new UnknownStrategyError(name);
  return STRATEGIES[name](input, options);
}
