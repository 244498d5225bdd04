import { type Collection, COLLECTIONS, isCollection, SPECS } from "./collections.ts";
import { Change, fieldErrors } from "./change_schema.ts";
import { canonicalJson } from "../conflict/canonical.ts";
import { sha256Hex, sha256Uuid } from "./hashing.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { AppError } from "./errors.ts";
import type { Metrics } from "./metrics.ts";
import type { ChangeNotifier } from "./change_notifier.ts";
import type { SyncCache } from "./cache/sync_cache.ts";
import type { PulledChange, PullResult, PushResult } from "./api_schemas.ts";
import { planBatch, type PreparedChange } from "./push_planner.ts";
import { containsPrivateKey } from "./privacy/private_key.ts";
import { allowedCollections } from "./selective_sync.ts";
import { itemKey, type ItemRow, type SyncStore } from "./sync_store.ts";
import { readSyncSettings, SYNC_SETTINGS_ID, SyncSettings } from "./sync_settings.ts";
import { type Account, assertWritable } from "./tiers.ts";

/** Who is calling: an authenticated device of an account. */
export interface DeviceIdentity {
  deviceId: string;
  account: Account;
}

/** Push and pull of the contract (DESIGN.md §3), over any store. */
export class SyncService {
  constructor(
    private readonly store: SyncStore,
    private readonly notifier: ChangeNotifier,
    private readonly options: {
      clock?: () => number;
      /** Answers pulls at the head without a query when it knows the head (null: always query). */
      cache?: SyncCache | null;
      metrics?: Pick<Metrics, "pushed" | "pulled">;
    } = {},
  ) {}

  /** Stores a batch; each change gets its own result and one bad change fails alone. */
  async push(
    who: DeviceIdentity,
    rawChanges: unknown[],
  ): Promise<PushResult> {
    const now = (this.options.clock ?? Date.now)();
    assertWritable(who.account, now);
    const prepared = rawChanges.map(prepareChange);
    const valid = prepared.flatMap((p) => (p.ok ? [p] : []));
    const reads = {
      changeIds: valid.map((p) => p.change.change_id),
      items: [
        { collection: "settings", id: SYNC_SETTINGS_ID },
        ...valid.map(({ change }) => ({ collection: change.collection, id: change.id })),
      ],
      dedupeKeys: valid.flatMap((p) =>
        p.dedupeKey ? [{ collection: p.change.collection, dedupe_key: p.dedupeKey }] : []
      ),
      bases: (items: Map<string, { version: number }>) =>
        valid.flatMap(({ change }) => {
          const current = items.get(itemKey(change.collection, change.id));
          return current && change.base_version !== null && current.version !== change.base_version
            ? [{ collection: change.collection, id: change.id, version: change.base_version }]
            : [];
        }),
    };
    const plan = await this.store.writeBatch(
      who.account.userId,
      reads,
      (snapshot) =>
        planBatch(prepared, snapshot, {
          deviceId: who.deviceId,
          now,
          newId: () => crypto.randomUUID(),
        }),
    );
    this.options.metrics?.pushed(rawChanges, plan);
    await this.notifier.committed(who.account.userId, who.deviceId, plan);
    return { results: plan.results, cursor: plan.cursor };
  }

  /** A page of changes after `since`, in sequence order, limited to what this device syncs. */
  async pull(
    who: DeviceIdentity,
    query: { since?: string; collections?: string; limit: number },
  ): Promise<PullResult> {
    const since = query.since ? decodeCursor(query.since) : 0;
    const wanted = parseCollections(query.collections);
    this.options.metrics?.pulled(who.account.tier);
    // The common "anything new?" with nothing new. A cached head is never ahead of a
    // commit (SyncCache), so equal means nothing committed after `since` that the cache
    // knows of; a head it does not know yet is one whose event is still on its way.
    if (since > 0 && await this.#cachedHead(who.account.userId) === since) {
      return { changes: [], cursor: encodeCursor(since), has_more: false };
    }
    const settingsItem = await this.store.getItem(who.account.userId, "settings", SYNC_SETTINGS_ID);
    const allowed = allowedCollections(readSyncSettings(settingsItem?.data), who.deviceId);
    const collections = wanted.filter((c) => allowed.has(c));
    const page = await this.store.pull(who.account.userId, since, collections, query.limit + 1);
    this.options.cache?.advance(who.account.userId, page.head).catch(() => {});
    if (since > 0 && since < page.purgedSeq) {
      throw new AppError(
        "SYNC_CURSOR_EXPIRED",
        "The cursor is older than the tombstone compaction horizon: pull again with no since",
      );
    }
    const rows = page.rows.slice(0, query.limit);
    const changes = rows.map(toPulledChange);
    const last = rows.at(-1);
    // With nothing new, the head (read before the rows) is safe: every change up to it had committed.
    const cursor = encodeCursor(last ? last.seq : Math.max(since, page.head));
    return { changes, cursor, has_more: page.rows.length > query.limit };
  }

  async #cachedHead(userId: string): Promise<number | null> {
    // An unreachable cache is a miss: the pull queries.
    return await this.options.cache?.head(userId).catch(() => null) ?? null;
  }
}

/** A stored item as pulls and conflict resolutions show it. */
export function toPulledChange(row: ItemRow): PulledChange {
  return {
    collection: row.collection,
    id: row.id,
    version: row.version,
    data: row.data,
    deleted: row.deleted,
    ...(row.redacted && { redacted: true as const }),
    modified_at: row.modified_at,
    device_id: row.device_id,
    cursor: encodeCursor(row.seq),
  };
}

/** Checks that need no stored state: envelope, collection schema, key material, checksum. */
function prepareChange(raw: unknown): PreparedChange {
  const changeId =
    raw && typeof raw === "object" && typeof (raw as { change_id?: unknown }).change_id === "string"
      ? (raw as { change_id: string }).change_id
      : null;
  const fail = (
    code: "VALIDATION_FAILED" | "SYNC_DATA_CORRUPTION",
    message: string,
    fields?: Record<string, string>,
  ) =>
    ({
      ok: false,
      change_id: changeId,
      error: { code, message, ...(fields && { details: { fields } }) },
    }) as const;

  const envelope = Change.safeParse(raw);
  if (!envelope.success) {
    return fail("VALIDATION_FAILED", "The change is malformed", fieldErrors(envelope.error));
  }
  const change = envelope.data;
  if (change.op === "delete") return { ok: true, change, dedupeKey: null };

  const spec = SPECS[change.collection];
  if (spec.holdsKeys && containsPrivateKey(change.data)) {
    // The message never echoes the value: it is a secret.
    return fail(
      "VALIDATION_FAILED",
      `Private key material is never accepted in ${change.collection}`,
      {
        data: "contains private key material",
      },
    );
  }
  if (change.checksum && change.checksum !== sha256Hex(canonicalJson(change.data))) {
    return fail("SYNC_DATA_CORRUPTION", "The checksum does not match the data as received", {
      checksum: "sha256 of the canonical JSON of data does not match",
    });
  }
  const data = spec.schema.safeParse(change.data);
  if (!data.success) {
    return fail(
      "VALIDATION_FAILED",
      `The data is not a valid ${change.collection} item`,
      fieldErrors(data.error, "data"),
    );
  }
  if (change.collection === "settings" && change.id === SYNC_SETTINGS_ID) {
    const settings = SyncSettings.safeParse(data.data);
    if (!settings.success) {
      return fail(
        "VALIDATION_FAILED",
        "The sync settings are invalid",
        fieldErrors(settings.error, "data"),
      );
    }
  }
  const validated = { ...change, data: data.data };
  const dedupeKey = change.collection === "commands"
    // canonicalJson([command, session_id]), spelled out: both are strings.
    ? sha256Uuid(`[${JSON.stringify(data.data.command)},${JSON.stringify(data.data.session_id)}]`)
    : null;
  return { ok: true, change: validated, dedupeKey };
}

function parseCollections(list: string | undefined): Collection[] {
  if (!list) return [...COLLECTIONS];
  const names = list.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((name) => !isCollection(name));
  if (unknown.length > 0) {
    throw new AppError("VALIDATION_FAILED", `Unknown collection: ${unknown.join(", ")}`, {
      fields: { collections: `must be among ${COLLECTIONS.join(", ")}` },
    });
  }
  return names as Collection[];
}
