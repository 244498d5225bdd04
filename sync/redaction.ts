/**
 * Redaction (DESIGN.md §10): "I leaked a secret, purge it everywhere". Every stored item
 * whose text matches, and every kept history version and conflict copy of it, is erased
 * and replaced by a tombstone with `redacted: true`, which pulls and notifications carry
 * to every device like any delete.
 * @module
 */
import { z } from "zod";
import type { RedactResult } from "./api_schemas.ts";
import type { SyncCache } from "./cache/sync_cache.ts";
import type { ChangeNotifier } from "./change_notifier.ts";
import { type Collection, COLLECTIONS } from "./collections.ts";
import { AppError } from "./errors.ts";
import { compileUserPattern, compileUserPatterns } from "./privacy/user_pattern.ts";
import type { DeviceIdentity } from "./sync_service.ts";
import { itemKey, type SyncStore } from "./sync_store.ts";
import { PATTERN_SOURCE, readSyncSettings, SYNC_SETTINGS_ID } from "./sync_settings.ts";
import { ownerOf, TEAM_COLLECTION, teamWriteRefusal } from "./teams.ts";
import { assertWritable } from "./tiers.ts";

/** The body of `POST /api/sync/redact`: exactly one of `pattern` and `literal`. */
export const RedactBody = z.strictObject({
  pattern: PATTERN_SOURCE.optional().meta({
    description: "An RE2 regular expression, as in `secret_patterns`",
  }),
  literal: z.string().min(1).max(65_536).optional().meta({
    description: "Text matched as is",
  }),
  collections: z.array(z.enum(COLLECTIONS)).min(1).max(COLLECTIONS.length).optional().meta({
    description: 'Default `["commands"]`; `team_ssh_profiles` for team admins only',
  }),
}).superRefine((body, ctx) => {
  if ((body.pattern === undefined) === (body.literal === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["pattern"],
      message: "give exactly one of pattern, literal",
    });
    return;
  }
  const compiled = body.pattern === undefined ? null : compileUserPattern(body.pattern);
  if (compiled && !compiled.ok) {
    ctx.addIssue({ code: "custom", path: ["pattern"], message: compiled.reason });
  }
});
export type RedactBody = z.infer<typeof RedactBody>;

/** One item of an owner's, with every text it keeps: its data and its history's. */
export interface StoredTexts {
  seq: number;
  collection: string;
  id: string;
  /** The current data (null for a tombstone) and every kept prior version's. */
  texts: unknown[];
}

/** One conflict of an owner's, with the three versions it copied. */
export interface ConflictTexts {
  id: string;
  collection: string;
  item_id: string;
  texts: unknown[];
}

/** The persistence of redaction (db/redaction_sql.ts). */
export interface RedactionStore {
  /**
   * Up to `limit` of the owner's items of `collections` whose seq is past `afterSeq`, in seq
   * order, with their history; items already redacted are left out.
   */
  itemTexts(
    owner: string,
    collections: readonly string[],
    afterSeq: number,
    limit: number,
  ): Promise<StoredTexts[]>;
  /** Up to `limit` of the owner's conflicts on `collections` after id `afterId`, in id order. */
  conflictTexts(
    owner: string,
    collections: readonly string[],
    afterId: string | null,
    limit: number,
  ): Promise<ConflictTexts[]>;
  /**
   * In one transaction under the owner's lock: erases the history and conflicts of these
   * items and replaces each (a tombstone included) with a redacted tombstone that takes
   * the next number of the owner's sequence.
   */
  redact(
    owner: string,
    items: readonly { collection: string; id: string }[],
    nowMs: number,
  ): Promise<{ head: number; count: number; collections: string[] }>;
}

/** Tells whether one string holds the secret. */
type Matcher = (text: string) => boolean;

/** Redaction requests, and the redaction that follows an added `secret_patterns` entry. */
export class RedactionService {
  constructor(
    private readonly store: Pick<SyncStore, "getItem"> & RedactionStore,
    private readonly notifier: ChangeNotifier,
    private readonly options: {
      clock?: () => number;
      cache?: SyncCache | null;
      /** Items per erasing transaction (default 500). */
      batchSize?: number;
      /**
       * Items (or conflicts) per page of the scan (default 2,000): on the embedded database
       * each query costs tens of milliseconds whatever its size (measured in bench/redaction.ts).
       */
      pageSize?: number;
    } = {},
  ) {}

  /**
   * Erases everything of the caller's (and, for `team_ssh_profiles`, its team's) that
   * matches; complete when it answers: each owner's items are scanned to the head, so a
   * write committed while the scan ran is scanned too. Team items: admins only (FORBIDDEN
   * otherwise, with `details.upgrade` for a tier without team sync). A write like any other:
   * an expired tier answers `SYNC_SUBSCRIPTION_EXPIRED` (DESIGN.md §8).
   */
  async redact(who: DeviceIdentity, body: RedactBody): Promise<RedactResult> {
    assertWritable(who.account, (this.options.clock ?? Date.now)());
    const matches = body.literal !== undefined
      ? literalMatcher(body.literal)
      : patternMatcher(body.pattern!);
    const collections = body.collections ?? ["commands"];
    if (collections.includes(TEAM_COLLECTION)) {
      const refusal = teamWriteRefusal(who.account);
      if (refusal) throw new AppError(refusal.code, refusal.message, refusal.details);
    }
    const byOwner = new Map<string, Collection[]>();
    for (const collection of new Set(collections)) {
      const owner = ownerOf(collection, who.account);
      byOwner.set(owner, [...byOwner.get(owner) ?? [], collection]);
    }
    let redacted = 0;
    for (const [owner, owned] of byOwner) {
      redacted += await this.#redactOwner(owner, owned, matches);
    }
    return { redacted };
  }

  /**
   * Runs a write (a push, a conflict's resolution); when it may store the user's sync
   * settings, redacts the commands that the `secret_patterns` it added match (DESIGN.md
   * §10), before answering.
   */
  async afterSettingsWrite<T>(
    who: DeviceIdentity,
    maySetPatterns: boolean,
    write: () => Promise<T>,
  ): Promise<T> {
    if (!maySetPatterns) return await write();
    const userId = who.account.userId;
    const patterns = async () =>
      readSyncSettings((await this.store.getItem(userId, "settings", SYNC_SETTINGS_ID))?.data)
        .secret_patterns ?? [];
    const before = new Set(await patterns());
    const result = await write();
    const added = (await patterns()).filter((pattern) => !before.has(pattern));
    const compiled = compileUserPatterns(added);
    if (compiled) await this.#redactOwner(userId, ["commands"], compiled.test);
    return result;
  }

  async #redactOwner(owner: string, collections: Collection[], matches: Matcher): Promise<number> {
    const batch = this.options.batchSize ?? 500;
    const pageSize = this.options.pageSize ?? 2_000;
    const pending = new Map<string, { collection: string; id: string }>();
    let redacted = 0;
    const flush = async () => {
      if (pending.size === 0) return;
      const now = (this.options.clock ?? Date.now)();
      const written = await this.store.redact(owner, [...pending.values()], now);
      pending.clear();
      redacted += written.count;
      if (written.count === 0) return;
      // As after a push: the cached head moves past the tombstones before devices hear of
      // them, so a device that pulls on the hint is never told "nothing new".
      await this.options.cache?.advance(owner, written.head).catch(() => {});
      await this.notifier.committed(owner, null, {
        committed: {
          seq: written.head,
          collections: written.collections as Collection[],
          conflicts: [],
        },
        newConflicts: [],
      });
    };
    const found = async (collection: string, id: string) => {
      pending.set(itemKey(collection, id), { collection, id });
      if (pending.size >= batch) await flush();
    };
    // By seq up to the head: an item written while this runs gets a seq past every one
    // scanned, so it is scanned too, with the history its earlier version went to. The
    // tombstones written here are left out of the scan (already redacted).
    for (let after = 0;;) {
      const page = await this.store.itemTexts(owner, collections, after, pageSize);
      for (const item of page) {
        if (item.texts.some((text) => holds(text, matches))) await found(item.collection, item.id);
      }
      if (page.length < pageSize) break;
      after = page.at(-1)!.seq;
    }
    // Conflicts last: one stored while the items were scanned is scanned too.
    for (let after: string | null = null;;) {
      const page = await this.store.conflictTexts(owner, collections, after, pageSize);
      for (const conflict of page) {
        if (conflict.texts.some((text) => holds(text, matches))) {
          await found(conflict.collection, conflict.item_id);
        }
      }
      if (page.length < pageSize) break;
      after = page.at(-1)!.id;
    }
    await flush();
    return redacted;
  }
}

function literalMatcher(literal: string): Matcher {
  return (text) => text.includes(literal);
}

function patternMatcher(source: string): Matcher {
  const compiled = compileUserPattern(source);
  if (!compiled.ok) {
    throw new AppError("VALIDATION_FAILED", "The pattern is refused", {
      fields: { pattern: compiled.reason },
    });
  }
  return compiled.pattern.test;
}

/** True when any string of a stored JSON value, key or value at any depth, matches. */
function holds(value: unknown, matches: Matcher): boolean {
  if (typeof value === "string") return matches(value);
  if (Array.isArray(value)) return value.some((v) => holds(v, matches));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).some(([k, v]) => matches(k) || holds(v, matches));
  }
  return false;
}

/** True when a batch may write the `sync` settings (judged before validation: any such id). */
export function touchesSyncSettings(changes: readonly unknown[]): boolean {
  return changes.some((change) => {
    const { collection, id } = (change ?? {}) as { collection?: unknown; id?: unknown };
    return collection === "settings" && id === SYNC_SETTINGS_ID;
  });
}
