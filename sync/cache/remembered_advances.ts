import { BoundedMap } from "../bounded_map.ts";
import {
  type CachedStats,
  HEAD_TTL_SECONDS,
  MEMORY_CACHE_USERS,
  type SyncCache,
} from "./sync_cache.ts";

/**
 * How long an advance this process sent is trusted to stand in the shared cache: half the
 * head's lifetime, so one that Redis ran a little after it was sent has long to live yet.
 */
export const REMEMBERED_ADVANCE_MS = (HEAD_TTL_SECONDS * 1000) / 2;

/**
 * The shared cache, without the advances this process repeats. An instance that both takes
 * pushes and runs the replication listener (ROLE=all) advanced each head twice per commit:
 * after the push's commit, and again before the listener published its event; every page
 * of a pull advanced it to the head it read as well. Each is a command to the shared Redis.
 *
 * Skipping one is safe: a head there is never lowered and lives HEAD_TTL_SECONDS after its
 * last advance, so while an advance of this process to `seq` or past it is recent (and did
 * not fail) the head stands at `seq` or past it, or is missing, and a missing head costs a
 * query, never a change. An advance still on its way is shared. A head read as missing or
 * behind what was remembered (Redis restarted empty, or evicted it) is forgotten, and any
 * failure forgets everything: the next advances are sent again and record the head anew.
 */
export class RememberedAdvances implements SyncCache {
  readonly #sent: BoundedMap<string, { seq: number; at: number; done: Promise<void> }>;

  constructor(
    readonly cache: SyncCache,
    readonly clock: () => number = Date.now,
    maxOwners: number = MEMORY_CACHE_USERS,
  ) {
    this.#sent = new BoundedMap(maxOwners);
  }

  /** How many owners' advances are remembered (tests assert the bound). */
  get size(): number {
    return this.#sent.size;
  }

  advance(userId: string, seq: number): Promise<void> {
    const now = this.clock();
    const last = this.#sent.get(userId);
    if (last && last.seq >= seq && now - last.at < REMEMBERED_ADVANCE_MS) return last.done;
    const entry = {
      seq,
      at: now,
      done: this.#forgettingOnFailure(this.cache.advance(userId, seq)),
    };
    // Deleted first: insertion order is the order of sends, so the oldest go first.
    this.#sent.delete(userId);
    this.#sent.set(userId, entry);
    return entry.done;
  }

  async head(userId: string): Promise<number | null> {
    const head = await this.#forgettingOnFailure(this.cache.head(userId));
    this.#checkRemembered(userId, head);
    return head;
  }

  async stats(userId: string): Promise<{ head: number | null; stats: CachedStats | null }> {
    const found = await this.#forgettingOnFailure(this.cache.stats(userId));
    this.#checkRemembered(userId, found.head);
    return found;
  }

  putStats(userId: string, stats: CachedStats): Promise<void> {
    return this.#forgettingOnFailure(this.cache.putStats(userId, stats));
  }

  close(): Promise<void> {
    this.#sent.clear();
    return this.cache.close();
  }

  /** A head read behind what this process remembers sending was lost: send the next one. */
  #checkRemembered(userId: string, head: number | null): void {
    const last = this.#sent.get(userId);
    if (last && (head === null || head < last.seq)) this.#sent.delete(userId);
  }

  #forgettingOnFailure<T>(reply: Promise<T>): Promise<T> {
    return reply.catch((error) => {
      this.#sent.clear();
      throw error;
    });
  }
}
