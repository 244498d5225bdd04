import { STRATEGIES } from "../conflict/mod.ts";
import type { MergeInput, StrategyName, Version } from "../conflict/types.ts";
import type { ErrorCode } from "./errors.ts";
import { type Collection, SPECS } from "./collections.ts";
import type { Change } from "./change_schema.ts";
import { encodeCursor } from "./cursor.ts";
import type { ChangeResult, ChangeStatus } from "./api_schemas.ts";
import { BuiltinSecrets, PrivacyFilter } from "./privacy_filter.ts";
import {
  type AppliedRow,
  type BatchSnapshot,
  type BatchWrites,
  type ConflictRow,
  itemKey,
  type ItemRow,
  versionKey,
} from "./sync_store.ts";
import { readSyncSettings, SYNC_SETTINGS_ID, type SyncSettings } from "./sync_settings.ts";
import { allowedCollections } from "./selective_sync.ts";
import { TEAM_COLLECTION } from "./teams.ts";

/** Client clocks may run ahead of ours by at most this much (DESIGN.md §2). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A change after the checks that need no stored state (schema, checksum, hashing). */
export type PreparedChange =
  | { ok: false; change_id: string | null; error: NonNullable<ChangeResult["error"]> }
  | { ok: true; change: Change; dedupeKey: string | null };

export interface PlanResult {
  results: ChangeResult[];
  cursor: string;
  /** What committed, for the in-process change feed of the embedded default. */
  committed: { seq: number; collections: Collection[]; conflicts: ConflictRow["id"][] };
  newConflicts: { id: string; collection: Collection; item_id: string }[];
  /** The stale changes of this batch, by the strategy that settled them (for metrics). */
  settled: { strategy: StrategyName; status: ChangeStatus }[];
}

/** Who writes a batch, and what a plan may not pick for itself. */
export interface PlanContext {
  deviceId: string;
  /** The writer's user id for a team's items (sync/teams.ts); null for a user's own. */
  author: string | null;
  now: number;
  newId: () => string;
  /** The batch's commands as the built-in privacy rules judged them, if judged already. */
  builtinSecrets?: BuiltinSecrets;
}

/**
 * Decides every change of a batch against the state read under the owner's lock (a user's,
 * or a team's: then `snapshot` holds no sync settings, so the collection defaults apply). Pure:
 * the clock, the device and the conflict ids come in as arguments.
 */
export function planBatch(
  changes: PreparedChange[],
  snapshot: BatchSnapshot,
  context: PlanContext,
): { writes: BatchWrites; result: PlanResult } {
  const settings = readSyncSettings(
    snapshot.items.get(itemKey("settings", SYNC_SETTINGS_ID))?.data,
  );
  const plan = new Plan(snapshot, settings, context);
  const results = changes.map((prepared) =>
    prepared.ok ? plan.apply(prepared.change, prepared.dedupeKey) : {
      change_id: prepared.change_id,
      status: "rejected" as const,
      error: prepared.error,
    }
  );
  return { writes: plan.writes(), result: plan.result(results) };
}

class Plan {
  #head: number;
  #items = new Map<string, ItemRow>();
  #history: ItemRow[] = [];
  #applied = new Map<string, AppliedRow>();
  #settled: PlanResult["settled"] = [];
  #conflicts: BatchWrites["conflicts"] = [];
  #dedupe: Map<string, string>;
  #filter: PrivacyFilter;
  #allowed: ReadonlySet<Collection>;
  #touched = new Set<Collection>();
  #lastSeq = 0;

  constructor(
    readonly snapshot: BatchSnapshot,
    readonly settings: SyncSettings,
    readonly context: PlanContext,
  ) {
    this.#head = snapshot.head;
    this.#dedupe = new Map(snapshot.dedupe);
    this.#filter = new PrivacyFilter(settings, context.builtinSecrets);
    this.#allowed = allowedCollections(settings, context.deviceId);
  }

  apply(change: Change, dedupeKey: string | null): ChangeResult {
    const seen = this.#applied.get(change.change_id) ?? this.snapshot.applied.get(change.change_id);
    if (seen) return replay(seen);
    if (!this.#allowed.has(change.collection)) {
      return rejected(
        change,
        "FORBIDDEN",
        `Collection ${change.collection} is not synced for this device`,
      );
    }
    if (isFilterable(change) && this.#isPrivate(change)) {
      return this.#record(change, { status: "filtered" });
    }
    const key = itemKey(change.collection, change.id);
    const current = this.#items.get(key) ?? this.snapshot.items.get(key);
    if (dedupeKey !== null) {
      const owner = this.#dedupe.get(itemKey(change.collection, dedupeKey));
      if (owner !== undefined && owner !== change.id) {
        return this.#record(change, { status: "duplicate" });
      }
    }
    const incoming = this.#incoming(change);
    if (!current || current.version === change.base_version) {
      return this.#store(change, current, incoming, dedupeKey, "applied");
    }
    return this.#resolveConflict(change, current, incoming, dedupeKey);
  }

  #isPrivate(change: Change): boolean {
    return this.#filter.isPrivate(change.data ?? {});
  }

  #incoming(change: Change): Version {
    return {
      data: change.op === "delete" ? null : change.data ?? null,
      deleted: change.op === "delete",
      modified_at: Math.min(change.modified_at, this.context.now + MAX_CLOCK_SKEW_MS),
      device_id: this.context.deviceId,
    };
  }

  #resolveConflict(
    change: Change,
    current: ItemRow,
    incoming: Version,
    dedupeKey: string | null,
  ): ChangeResult {
    // Team items settle with their collection's default, whoever writes them (sync/teams.ts).
    const chosen = change.collection === TEAM_COLLECTION
      ? undefined
      : this.settings.conflict_strategies?.[change.collection];
    const strategy: StrategyName = chosen ?? SPECS[change.collection].defaultStrategy;
    const baseRow = change.base_version === null
      ? undefined
      : this.snapshot.bases.get(versionKey(change.collection, change.id, change.base_version)) ??
        this.#history.find((h) =>
          h.collection === change.collection && h.id === change.id &&
          h.version === change.base_version
        );
    const input = {
      base: baseRow ? toVersion(baseRow) : null,
      local: incoming,
      remote: toVersion(current),
    };
    const result = this.#settle(change, current, input, dedupeKey, strategy);
    // Counted per strategy and outcome for stats and metrics.
    this.#applied.get(change.change_id)!.strategy = strategy;
    this.#settled.push({ strategy, status: result.status });
    return result;
  }

  #settle(
    change: Change,
    current: ItemRow,
    input: MergeInput,
    dedupeKey: string | null,
    strategy: StrategyName,
  ): ChangeResult {
    const { local: incoming, remote } = input;
    const outcome = STRATEGIES[strategy](input, SPECS[change.collection].merge);
    switch (outcome.kind) {
      case "take_local":
        return this.#store(change, current, incoming, dedupeKey, "applied");
      case "keep_remote":
        return this.#record(change, { status: "kept_remote", version: current.version });
      case "merged": {
        const { data, deleted, modified_at } = outcome;
        return this.#store(
          change,
          current,
          { ...incoming, data, deleted, modified_at },
          dedupeKey,
          "merged",
        );
      }
      case "manual": {
        const id = this.context.newId();
        this.#conflicts.push({
          id,
          collection: change.collection,
          item_id: change.id,
          strategy,
          base: input.base,
          local: incoming,
          remote,
          change_id: change.change_id,
        });
        return this.#record(change, {
          status: "conflict",
          version: current.version,
          conflict_id: id,
        });
      }
    }
  }

  #store(
    change: Change,
    current: ItemRow | undefined,
    value: Version,
    dedupeKey: string | null,
    status: "applied" | "merged",
  ): ChangeResult {
    const seq = ++this.#head;
    if (current) {
      this.#history.push(current);
      if (current.dedupe_key) this.#dedupe.delete(itemKey(change.collection, current.dedupe_key));
    }
    const key = value.deleted ? null : dedupeKey;
    if (key) this.#dedupe.set(itemKey(change.collection, key), change.id);
    const version = (current?.version ?? 0) + 1;
    this.#items.set(itemKey(change.collection, change.id), {
      collection: change.collection,
      id: change.id,
      version,
      data: value.deleted ? null : value.data,
      deleted: value.deleted,
      redacted: false,
      modified_at: value.modified_at,
      device_id: this.context.deviceId,
      change_id: change.change_id,
      seq,
      dedupe_key: key,
      author: this.context.author,
    });
    this.#touched.add(change.collection);
    this.#lastSeq = seq;
    return this.#record(change, { status, version }, seq);
  }

  #record(
    change: Change,
    outcome: Omit<ChangeResult, "change_id">,
    seq: number | null = null,
  ): ChangeResult {
    this.#applied.set(change.change_id, {
      change_id: change.change_id,
      collection: change.collection,
      item_id: change.id,
      status: outcome.status,
      version: outcome.version ?? null,
      conflict_id: outcome.conflict_id ?? null,
      seq,
    });
    return { change_id: change.change_id, ...outcome };
  }

  writes(): BatchWrites {
    const items = [...this.#items.entries()];
    return {
      head: this.#head,
      newItems: items.flatMap(([key, row]) => this.snapshot.items.has(key) ? [] : [row]),
      changedItems: items.flatMap(([key, row]) => this.snapshot.items.has(key) ? [row] : []),
      history: this.#history,
      // A change stored as sent is found again by the change_id of the version it wrote
      // (items, then item_versions), so only the other outcomes need a row of their own.
      applied: [...this.#applied.values()].filter((row) =>
        row.status !== "applied" || row.strategy != null
      ),
      conflicts: this.#conflicts,
    };
  }

  result(results: ChangeResult[]): PlanResult {
    return {
      results,
      cursor: encodeCursor(this.#lastSeq || this.#head),
      committed: {
        seq: this.#lastSeq,
        collections: [...this.#touched].sort(),
        conflicts: this.#conflicts.map((c) => c.id),
      },
      newConflicts: this.#conflicts.map((c) => ({
        id: c.id,
        collection: c.collection,
        item_id: c.item_id,
      })),
      settled: this.#settled,
    };
  }
}

/**
 * One answer for a batch that was stored in parts, in order: every part's results, and the
 * cursor of the last change stored (or, with none stored, of the last part).
 */
export function mergePlans(plans: PlanResult[]): PlanResult {
  const stored = plans.filter((p) => p.committed.seq > 0);
  return {
    results: plans.flatMap((p) => p.results),
    cursor: (stored.at(-1) ?? plans.at(-1)!).cursor,
    committed: {
      seq: Math.max(0, ...stored.map((p) => p.committed.seq)),
      collections: [...new Set(plans.flatMap((p) => p.committed.collections))].sort(),
      conflicts: plans.flatMap((p) => p.committed.conflicts),
    },
    newConflicts: plans.flatMap((p) => p.newConflicts),
    settled: plans.flatMap((p) => p.settled),
  };
}

/**
 * Judges the batch's commands by the built-in privacy rules, which need no stored state:
 * so they can be judged while the batch's reads are in flight (`BatchReads.whileReading`).
 */
export function judgeBuiltinSecrets(changes: PreparedChange[], secrets: BuiltinSecrets): void {
  for (const prepared of changes) {
    if (prepared.ok && isFilterable(prepared.change)) secrets.holds(prepared.change.data ?? {});
  }
}

/** Only the commands a change stores are run through the privacy filter. */
function isFilterable(change: Change): boolean {
  return change.collection === "commands" && change.op === "upsert";
}

/** A change_id seen before: the same answer again, with nothing written. */
function replay(seen: AppliedRow): ChangeResult {
  const status = seen.status === "filtered" ? "filtered" : "duplicate";
  return {
    change_id: seen.change_id,
    status,
    ...(seen.version !== null && { version: seen.version }),
    ...(seen.conflict_id !== null && { conflict_id: seen.conflict_id }),
  };
}

function rejected(change: Change, code: ErrorCode, message: string): ChangeResult {
  return { change_id: change.change_id, status: "rejected", error: { code, message } };
}

function toVersion(row: ItemRow): Version {
  return {
    data: row.data,
    deleted: row.deleted,
    modified_at: row.modified_at,
    device_id: row.device_id ?? "",
  };
}
