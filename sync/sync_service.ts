import { type Collection, COLLECTIONS, isCollection } from "./collections.ts";
import { type RedactionService, touchesSyncSettings } from "./redaction.ts";
import { decodeCursor, decodeSince, encodePosition, START } from "./cursor.ts";
import { AppError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { ChangeNotifier } from "./change_notifier.ts";
import { atCachedHead } from "./cache/at_cached_head.ts";
import type { SyncCache } from "./cache/sync_cache.ts";
import type { ChangeResult, PulledChange, PushResult } from "./api_schemas.ts";
import {
  judgeBuiltinSecrets,
  mergePlans,
  planBatch,
  type PlanResult,
  type PreparedChange,
} from "./push_planner.ts";
import { BuiltinSecrets } from "./privacy_filter.ts";
import { splitByOwner } from "./owner_split.ts";
import { mergeStreams } from "./stream_merge.ts";
import { isTeamOwner, syncedTeam, TEAM_COLLECTION, teamOwner } from "./teams.ts";
import { prepareChange } from "./prepare_change.ts";
import { allowedCollections } from "./selective_sync.ts";
import {
  type BatchReads,
  type BatchSnapshot,
  type BatchWrites,
  itemKey,
  type ItemRow,
  StoreDataError,
  type SyncStore,
} from "./sync_store.ts";
import { readSyncSettings, SYNC_SETTINGS_ID } from "./sync_settings.ts";
import { type Account, assertWritable } from "./tiers.ts";

/** Who is calling: an authenticated device of an account. */
export interface DeviceIdentity {
  deviceId: string;
  account: Account;
}

/** A conflict that a resolution batch closes, and the item version the resolution was built on. */
export interface Closing {
  conflictId: string;
  resolution: string;
  itemVersion: number | null;
}

type Decide = (snapshot: BatchSnapshot) => { writes: BatchWrites; result: PlanResult };

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
      /** Told of changes the database refused although they passed validation. */
      logger?: Logger;
      /** Redacts what a push's new `secret_patterns` match (absent: no such sweep). */
      redaction?: Pick<RedactionService, "afterSettingsWrite">;
    } = {},
  ) {}

  /**
   * Stores a batch; each change gets its own result and one bad change fails alone. The
   * user's changes and the team's are stored in a transaction each (owner_split.ts), and
   * the answer's cursor holds the last stored change of each (0 for a stream the batch
   * did not write): for a batch of one stream, the cursor its event carries.
   */
  async push(
    who: DeviceIdentity,
    rawChanges: unknown[],
  ): Promise<PushResult> {
    const redaction = this.options.redaction;
    if (!redaction) return await this.#push(who, rawChanges);
    return await redaction.afterSettingsWrite(
      who,
      touchesSyncSettings(rawChanges),
      () => this.#push(who, rawChanges),
    );
  }

  async #push(who: DeviceIdentity, rawChanges: unknown[]): Promise<PushResult> {
    const now = this.#writableNow(who);
    const prepared = rawChanges.map(prepareChange);
    const parts = splitByOwner(prepared, who.account, await this.#sendPolicy(who, prepared));
    const results: PushResult["results"] = [];
    const stored: { owner: string; plan: PlanResult }[] = [];
    for (const part of parts) {
      const plan = mergePlans(await this.#storeIsolating(who, part.owner, part.changes, now));
      part.indices.forEach((index, i) => results[index] = plan.results[i]);
      stored.push({ owner: part.owner, plan });
    }
    this.options.metrics?.pushed(rawChanges, {
      results,
      settled: stored.flatMap(({ plan }) => plan.settled),
    });
    for (const { owner, plan } of stored) {
      await this.#committed(owner, who.deviceId, plan);
    }
    const team = syncedTeam(who.account);
    if (team === null) return { results, cursor: stored[0].plan.cursor };
    const seqOf = (teamPart: boolean) => {
      const part = stored.find(({ owner }) => isTeamOwner(owner) === teamPart);
      return part ? decodeCursor(part.plan.cursor) : 0;
    };
    return { results, cursor: encodePosition({ user: seqOf(false), team: seqOf(true) }, team) };
  }

  /**
   * Stores a conflict's resolution (the first change; any others ride along) and closes
   * the conflict in the same transaction, or does neither: 409 when the conflict is no
   * longer open or its item moved past `closing.itemVersion`, the rejection's own code
   * when the resolution is rejected.
   */
  async resolve(who: DeviceIdentity, rawChanges: unknown[], closing: Closing): Promise<void> {
    const now = this.#writableNow(who);
    const prepared = rawChanges.map(prepareChange);
    const [first] = prepared;
    if (!first.ok) throw new AppError(first.error.code, first.error.message, first.error.details);
    const item = itemKey(first.change.collection, first.change.id);
    const owner = who.account.userId;
    const plan = await this.#store(who, owner, prepared, now, { ...closing, item }).catch(
      (error) => {
        if (error instanceof StoreDataError) {
          const { code, message, details } = refusal(error);
          throw new AppError(code, message, details);
        }
        throw error;
      },
    );
    await this.#committed(owner, who.deviceId, plan);
  }

  /**
   * A page of changes after `since`, limited to what this device syncs: the user's and,
   * for a member of a team, the team's, each stream in its sequence order (stream_merge.ts).
   * 410 when `since` predates a stream's compaction horizon or counts another team's
   * stream (the user's team changed: the device resyncs from scratch, DESIGN.md §11).
   * Answers the PullResult as JSON text (see `pullJson`).
   */
  async pull(
    who: DeviceIdentity,
    query: { since?: string; collections?: string; limit: number },
  ): Promise<string> {
    const team = syncedTeam(who.account);
    const since = query.since ? decodeSince(query.since, team) : START;
    const wanted = parseCollections(query.collections);
    this.options.metrics?.pulled(who.account.tier);
    if (since.expired) {
      throw new AppError(
        "SYNC_CURSOR_EXPIRED",
        "The cursor counts a team this account no longer syncs: pull again with no since",
      );
    }
    const userId = who.account.userId;
    if (await atCachedHead(this.options.cache, userId, team, since)) {
      return pullJson([], encodePosition(since, team), false);
    }
    const read = (owner: string, from: number, streamed: Collection[]) =>
      this.store.pullEncoded(owner, from, streamed, query.limit + 1).then((page) => {
        this.options.cache?.advance(owner, page.head).catch(() => {});
        assertServable(from, page);
        return { since: from, head: page.head, rows: page.rows };
      });
    const readStreams = (collections: Collection[]) =>
      Promise.all([
        read(userId, since.user, collections.filter((c) => c !== TEAM_COLLECTION)),
        team === null
          ? null
          : read(teamOwner(team), since.team, collections.filter((c) => c === TEAM_COLLECTION)),
      ]);
    // Read alongside the settings, betting that they narrow nothing (no selective sync for
    // this device, the usual case): one round trip per page instead of two. A device whose
    // settings do narrow the collections pays a second read instead.
    const guess = readStreams(wanted);
    guess.catch(() => {});
    const settingsItem = await this.store.getItem(userId, "settings", SYNC_SETTINGS_ID);
    const allowed = allowedCollections(readSyncSettings(settingsItem?.data), who.deviceId);
    const collections = wanted.filter((c) => allowed.has(c));
    const [mine, theirs] =
      await (collections.length === wanted.length ? guess : readStreams(collections));
    const page = mergeStreams(mine, theirs, query.limit);
    return pullJson(
      page.rows.map(({ row, position }) =>
        `${row.json},"cursor":${JSON.stringify(encodePosition(position, team))}}`
      ),
      encodePosition(page.position, team),
      page.hasMore,
    );
  }

  /**
   * After commit, before answering: the owner's cached head moves past what committed (so
   * a device that pulls from the old head, hint or no hint, is never told "nothing new"),
   * then the notifier publishes. A failed advance costs freshness only until the change's
   * event advances it again or the head expires.
   */
  async #committed(owner: string, deviceId: string, plan: PlanResult): Promise<void> {
    if (plan.committed.seq > 0) {
      await this.options.cache?.advance(owner, plan.committed.seq).catch(() => {});
    }
    await this.notifier.committed(owner, deviceId, plan);
  }

  /**
   * What this device may send (selective sync and its device policy, DESIGN.md §7), read
   * from the user's settings only for a batch that holds a team change: the team's own
   * transaction reads no settings of the user.
   */
  async #sendPolicy(
    who: DeviceIdentity,
    prepared: PreparedChange[],
  ): Promise<() => ReadonlySet<Collection>> {
    if (!prepared.some((p) => p.ok && p.change.collection === TEAM_COLLECTION)) {
      return () => new Set(COLLECTIONS);
    }
    const item = await this.store.getItem(who.account.userId, "settings", SYNC_SETTINGS_ID);
    const allowed = allowedCollections(readSyncSettings(item?.data), who.deviceId);
    return () => allowed;
  }

  /** The time of a write; an expired tier writes nothing (DESIGN.md §8). */
  #writableNow(who: DeviceIdentity): number {
    const now = (this.options.clock ?? Date.now)();
    assertWritable(who.account, now);
    return now;
  }

  /**
   * Stores the batch in one transaction; when the database refuses it for some change's
   * data, splits it in halves until that change stands alone, rejects it and stores the
   * rest, in order. Deterministic: the same batch against the same state splits the same
   * way, so a retry answers the same. At most 2n − 1 transactions for n valid changes.
   */
  async #storeIsolating(
    who: DeviceIdentity,
    owner: string,
    prepared: PreparedChange[],
    now: number,
  ): Promise<PlanResult[]> {
    try {
      return [await this.#store(who, owner, prepared, now)];
    } catch (error) {
      const valid = prepared.flatMap((p, i) => (p.ok ? [i] : []));
      if (!(error instanceof StoreDataError) || valid.length === 0) throw error;
      if (valid.length === 1) {
        const culprit = prepared[valid[0]] as Extract<PreparedChange, { ok: true }>;
        // Validation should have refused it: worth a look, so say which (never its data).
        this.options.logger?.warn("The database refused a change that passed validation", {
          change_id: culprit.change.change_id,
          collection: culprit.change.collection,
          sqlstate_class: error.sqlState.slice(0, 2),
        });
        const rejected = prepared.with(valid[0], {
          ok: false,
          change_id: culprit.change.change_id,
          error: refusal(error),
        });
        return [await this.#store(who, owner, rejected, now)];
      }
      const split = valid[Math.floor(valid.length / 2)];
      return [
        ...await this.#storeIsolating(who, owner, prepared.slice(0, split), now),
        ...await this.#storeIsolating(who, owner, prepared.slice(split), now),
      ];
    }
  }

  /** One transaction under `owner`'s lock: read what the batch needs, plan it purely, write the plan. */
  #store(
    who: DeviceIdentity,
    owner: string,
    prepared: PreparedChange[],
    now: number,
    closing?: Closing & { item: string },
  ): Promise<PlanResult> {
    const valid = prepared.flatMap((p) => (p.ok ? [p] : []));
    const builtinSecrets = new BuiltinSecrets();
    const reads: BatchReads = {
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
      ...(closing && { conflictId: closing.conflictId }),
      whileReading: () => judgeBuiltinSecrets(prepared, builtinSecrets),
    };
    const plan: Decide = (snapshot) =>
      planBatch(prepared, snapshot, {
        deviceId: who.deviceId,
        author: isTeamOwner(owner) ? who.account.userId : null,
        now,
        newId: () => crypto.randomUUID(),
        builtinSecrets,
      });
    const decide: Decide = closing ? (snapshot) => closeWith(plan, snapshot, closing) : plan;
    return this.store.writeBatch(owner, reads, decide);
  }
}

/**
 * Plans a resolution batch and closes its conflict with it, or throws (the transaction
 * then writes nothing): the conflict must still be open, its item still at the version
 * the resolution was built on, and the resolution (the first change) stored as sent.
 */
function closeWith(plan: Decide, snapshot: BatchSnapshot, closing: Closing & { item: string }) {
  if (snapshot.conflictStatus !== "open") {
    throw new AppError("SYNC_CONFLICT_DETECTED", "The conflict is already resolved", {
      conflict_id: closing.conflictId,
    });
  }
  const planned = plan(snapshot);
  const [first] = planned.result.results;
  if (first.status === "rejected") {
    throw new AppError(first.error!.code, first.error!.message, first.error!.details);
  }
  const stored = snapshot.items.get(closing.item)?.version ?? null;
  if (first.status !== "applied" || stored !== closing.itemVersion) {
    throw new AppError("SYNC_CONFLICT_DETECTED", "The item changed while resolving: try again");
  }
  const closeConflict = {
    id: closing.conflictId,
    resolution: closing.resolution,
    version: first.version ?? null,
  };
  return { writes: { ...planned.writes, closeConflict }, result: planned.result };
}

/** The rejection of a change the database refused; no database text reaches the client. */
function refusal(error: StoreDataError): NonNullable<ChangeResult["error"]> {
  return error.kind === "value"
    ? {
      code: "VALIDATION_FAILED",
      message: "The change holds a value the database cannot store",
      details: { fields: { data: "cannot be stored" } },
    }
    : {
      code: "SYNC_DATA_CORRUPTION",
      message: "The change cannot be stored: it contradicts data already stored",
    };
}

/**
 * A pull's answer (PullResult) as JSON text, around changes already encoded: their data
 * goes from the database to the answer without being parsed (EncodedRow).
 */
function pullJson(changes: string[], cursor: string, hasMore: boolean): string {
  return `{"changes":[${changes.join(",")}],"cursor":${
    JSON.stringify(cursor)
  },"has_more":${hasMore}}`;
}

/**
 * A stored item as conflict resolutions show it, at `cursor`; pulls show the same
 * (db/pull_sql.ts writes it as text around the data's text).
 */
export function toPulledChange(row: ItemRow, cursor: string): PulledChange {
  return {
    collection: row.collection,
    id: row.id,
    version: row.version,
    data: row.data,
    deleted: row.deleted,
    ...(row.redacted && { redacted: true as const }),
    modified_at: row.modified_at,
    device_id: row.device_id,
    ...(row.author !== null && { author: row.author }),
    cursor,
  };
}

/**
 * 422 for a `since` past the stream's head (a cursor from the future would skip every change
 * until the sequence caught up), 410 for one before its compaction horizon.
 */
function assertServable(since: number, page: { head: number; purgedSeq: number }): void {
  if (since > page.head) {
    throw new AppError("VALIDATION_FAILED", "since is not a cursor this service issued", {
      fields: { since: "is past the newest change" },
    });
  }
  if (since > 0 && since < page.purgedSeq) {
    throw new AppError(
      "SYNC_CURSOR_EXPIRED",
      "The cursor is older than the tombstone compaction horizon: pull again with no since",
    );
  }
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
