import type { StrategyName, Version } from "../conflict/types.ts";
import type { RedactionService } from "./redaction.ts";
import { AppError } from "./errors.ts";
import type { ConflictRow, SyncStore } from "./sync_store.ts";
import { type DeviceIdentity, type SyncService, toPulledChange } from "./sync_service.ts";
import type { ConflictView, PulledChange } from "./api_schemas.ts";
import { readSyncSettings, SYNC_SETTINGS_ID } from "./sync_settings.ts";
import { encodePosition } from "./cursor.ts";
import { syncedTeam } from "./teams.ts";

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
    /** Redacts what a resolution's new `secret_patterns` match (absent: no such sweep). */
    private readonly redaction?: Pick<RedactionService, "afterSettingsWrite">,
  ) {}

  async list(userId: string, status: "open" | "resolved"): Promise<ConflictView[]> {
    return (await this.store.listConflicts(userId, status)).map(view);
  }

  /**
   * Writes the chosen side as the item's next version and closes the conflict, in one
   * transaction: two devices resolving at once get one write and one 409, and a failure
   * leaves the conflict open with nothing written.
   */
  async resolve(
    who: DeviceIdentity,
    conflictId: string,
    choice: { resolution: Resolution; data?: Record<string, unknown>; remember?: boolean },
  ): Promise<PulledChange> {
    // Any conflict may be the sync settings' (a resolution is a settings write then);
    // resolutions are rare enough to read the settings around each.
    if (!this.redaction) return await this.#resolve(who, conflictId, choice);
    return await this.redaction.afterSettingsWrite(
      who,
      true,
      () => this.#resolve(who, conflictId, choice),
    );
  }

  async #resolve(
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
    const current = await this.store.getItem(userId, conflict.collection, conflict.item_id);
    const value = chosenValue(conflict, choice, current);
    const changes: unknown[] = [{
      change_id: crypto.randomUUID(),
      collection: conflict.collection,
      id: conflict.item_id,
      op: value.deleted ? "delete" : "upsert",
      ...(!value.deleted && { data: value.data }),
      base_version: current?.version ?? null,
      modified_at: this.clock(),
    }];
    if (choice.remember) {
      changes.push(
        await this.#rememberChange(who, conflict.collection, REMEMBERED[choice.resolution]),
      );
    }
    await this.sync.resolve(who, changes, {
      conflictId,
      resolution: choice.resolution,
      itemVersion: current?.version ?? null,
    });
    const item = await this.store.getItem(userId, conflict.collection, conflict.item_id);
    // A user's item: its position in the user's stream (and none in the team's).
    return toPulledChange(
      item!,
      encodePosition({ user: item!.seq, team: 0 }, syncedTeam(who.account)),
    );
  }

  /** The `sync` settings with `strategy` remembered for `collection`, as a change. */
  async #rememberChange(who: DeviceIdentity, collection: string, strategy: StrategyName) {
    const current = await this.store.getItem(who.account.userId, "settings", SYNC_SETTINGS_ID);
    const settings = readSyncSettings(current?.data);
    const data = {
      ...(current?.data ?? {}),
      conflict_strategies: { ...settings.conflict_strategies, [collection]: strategy },
    };
    return {
      change_id: crypto.randomUUID(),
      collection: "settings",
      id: SYNC_SETTINGS_ID,
      op: "upsert",
      data,
      base_version: current?.version ?? null,
      modified_at: this.clock(),
    };
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
