/** One side of a conflict: an item's version as a device or the store holds it. */
export interface Version {
  /** The item's fields; null for a tombstone. */
  data: Record<string, unknown> | null;
  deleted: boolean;
  /** ms since the epoch, already clamped by the caller to server time + 5 minutes. */
  modified_at: number;
  device_id: string;
}

/** `local` is the incoming device's version, `remote` the stored one, `base` their common ancestor (null when unknown). */
export interface MergeInput {
  base: Version | null;
  local: Version;
  remote: Version;
}

/** Per-collection facts a strategy may need; no clocks, no I/O. */
export interface MergeOptions {
  /** Fields holding lists that behave as sets (unioned, not replaced), e.g. `tags`. */
  setFields: readonly string[];
  /** For `additive`: fields that together identify an entry as a duplicate. */
  dedupeKey: readonly string[];
}

export type Outcome =
  | { kind: "take_local" }
  | { kind: "keep_remote" }
  | { kind: "merged"; data: Record<string, unknown> | null; deleted: boolean; modified_at: number }
  | { kind: "manual" };

export type StrategyName =
  | "local_priority"
  | "remote_priority"
  | "timestamp"
  | "field_merge"
  | "additive"
  | "manual";

export type Strategy = (input: MergeInput, options: MergeOptions) => Outcome;
