import type { StrategyName, Version } from "../conflict/types.ts";
import { AppError } from "./errors.ts";
import type { ConflictRow, SyncStore } from "./sync_store.ts";
import { type DeviceIdentity, type SyncService, toPulledChange } from "./sync_service.ts";
import type { ConflictView, PulledChange } from "./api_schemas.ts";
import { readSyncSettings, SYNC_SETTINGS_ID } from "./sync_settings.ts";

export type Resolution = "local" | "remote" | "merged";

/** The strategy a remembered resolution becomes for its collection. */
const REMEMBERED: Record<Resolution, StrategyName> = {
  local: "local_priority",
  remote: "remote_priority",
  merged: "field_merge",
};

/** Manual conflicts: list them, and resolve one into a new version every device pulls. */
export class ConflictService {
  constructor(
    private readonly store: SyncStore,
    private readonly sync: SyncService,
    private readonly clock: () => number = Date.now,
  ) {}

  async list(userId: string, status: "open" | "resolved"): Promise<ConflictView[]> {
    return (await this.store.listConflicts(userId, status)).map(view);
  }

  /**
   * Writes the chosen side as the item's next version and closes the conflict. The
   * conflict is claimed first, so two devices resolving at once get one write and one 409.
   */
  async resolve(
    who: DeviceIdentity,
    conflictId: string,
    choice: { resolution: Resolution; data?: Record<string, unknown>; remember?: boolean },
  ): Promise<PulledChange> {
    const userId = who.account.userId;
    const conflict = await this.store.getConflict(userId, conflictId);
    if (!conflict) throw new AppError("NOT_FOUND", "No such conflict");
    if (choice.resolution === "merged" && !choice.data) {
      throw new AppError("VALIDATION_FAILED", "A merged resolution needs data", {
        fields: { data: "is required" },
      });
    }
    if (!(await this.store.closeConflict(userId, conflictId, choice.resolution))) {
      throw new AppError("SYNC_CONFLICT_DETECTED", "The conflict is already resolved", {
        conflict_id: conflictId,
      });
    }
    try {
      const current = await this.store.getItem(userId, conflict.collection, conflict.item_id);
      const value = chosenValue(conflict, choice, current);
      const change = {
        change_id: crypto.randomUUID(),
        collection: conflict.collection,
        id: conflict.item_id,
        op: value.deleted ? "delete" : "upsert",
        ...(!value.deleted && { data: value.data }),
        base_version: current?.version ?? null,
        modified_at: this.clock(),
      };
      const [result] = (await this.sync.push(who, [change])).results;
      if (result.status === "rejected") {
        throw new AppError(result.error!.code, result.error!.message, result.error!.details);
      }
      if (result.status !== "applied" && result.status !== "merged") {
        throw new AppError("SYNC_CONFLICT_DETECTED", "The item changed while resolving: try again");
      }
      await this.store.setConflictVersion(userId, conflictId, result.version ?? null);
    } catch (error) {
      await this.store.reopenConflict(userId, conflictId);
      throw error;
    }
    if (choice.remember) {
      await this.#remember(who, conflict.collection, REMEMBERED[choice.resolution]);
    }
    const item = await this.store.getItem(userId, conflict.collection, conflict.item_id);
    return toPulledChange(item!);
  }

  async #remember(who: DeviceIdentity, collection: string, strategy: StrategyName): Promise<void> {
    const current = await this.store.getItem(who.account.userId, "settings", SYNC_SETTINGS_ID);
    const settings = readSyncSettings(current?.data);
    const data = {
      ...(current?.data ?? {}),
      conflict_strategies: { ...settings.conflict_strategies, [collection]: strategy },
    };
    await this.sync.push(who, [{
      change_id: crypto.randomUUID(),
      collection: "settings",
      id: SYNC_SETTINGS_ID,
      op: "upsert",
      data,
      base_version: current?.version ?? null,
      modified_at: this.clock(),
    }]);
  }
}

function chosenValue(
  conflict: ConflictRow,
  choice: { resolution: Resolution; data?: Record<string, unknown> },
  current: { data: Record<string, unknown> | null; deleted: boolean } | null,
): { data: Record<string, unknown> | null; deleted: boolean } {
  switch (choice.resolution) {
    case "local": {
      const local = conflict.local as Version;
      return { data: local.data, deleted: local.deleted };
    }
    case "remote":
      // The stored side as it is now: a later write to the item is not undone.
      return current ??
        { data: (conflict.remote as Version).data, deleted: (conflict.remote as Version).deleted };
    case "merged":
      return { data: choice.data!, deleted: false };
  }
}

/** The stored sides are the strategies' `Version`s, kept as JSON. */
function view(row: ConflictRow): ConflictView {
  return {
    id: row.id,
    collection: row.collection,
    item_id: row.item_id,
    status: row.status,
    strategy: row.strategy,
    base: row.base as Version | null,
    local: row.local as Version,
    remote: row.remote as Version,
    resolution: row.resolution as Resolution | null,
    resolved_version: row.resolved_version,
    created_at: row.created_at.getTime(),
    resolved_at: row.resolved_at?.getTime() ?? null,
  };
}
