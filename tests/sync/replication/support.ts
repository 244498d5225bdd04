import type { Bus } from "../../../sync/bus/bus.ts";
import { encodeCursor } from "../../../sync/cursor.ts";
import { type SyncEvent, userChannel } from "../../../sync/events.ts";
import type { Driver } from "../../../db/driver.ts";
import {
  ReplicationListener,
  type ReplicationListenerOptions,
  type ReplicationLogger,
} from "../../../sync/replication/listener.ts";
import { parseLsn } from "../../../sync/replication/lsn.ts";
import { openTestDb } from "../../support/drivers.ts";
import { eventually } from "../../support/eventually.ts";

/** A private migrated database and a slot name of its own (slots are cluster-wide). */
export interface ReplicationDb extends AsyncDisposable {
  driver: Driver;
  url: string;
  slot: string;
}

/**
 * Opens the database. Declare it before the listeners (`await using`), so they are
 * stopped first: an active logical slot blocks its own drop and the database's.
 */
export async function openReplicationDb(): Promise<ReplicationDb> {
  const db = await openTestDb("postgres");
  const slot = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  return {
    driver: db.driver,
    url: db.url!,
    slot,
    async [Symbol.asyncDispose]() {
      try {
        // A stopped listener's walsender can take a moment to exit.
        await eventually(async () => {
          const rows = await db.driver.query<{ active: boolean }>(
            "select active from pg_replication_slots where slot_name = $1",
            [slot],
          );
          if (rows.length === 0) return true;
          if (rows[0].active) return false;
          await db.driver.query("select pg_drop_replication_slot($1)", [slot]);
          return true;
        }, 10_000);
      } finally {
        await db[Symbol.asyncDispose]();
      }
    },
  };
}

/**
 * Drops the slot while a listener streams it, as an operator would: its walsender is
 * terminated until the slot is inactive long enough to be dropped.
 */
export async function dropSlotUnderListener(db: ReplicationDb): Promise<void> {
  await eventually(
    async () => {
      await db.driver.query(
        `select pg_terminate_backend(active_pid) from pg_replication_slots
        where slot_name = $1 and active_pid is not null`,
        [db.slot],
      );
      try {
        await db.driver.query("select pg_drop_replication_slot($1)", [db.slot]);
        return true;
      } catch {
        return false;
      }
    },
    10_000,
    "the slot dropped",
  );
}

/** A listener on the database's slot, logging to memory, with short timings that `options` may override. */
export function testListener(
  db: ReplicationDb,
  bus: ReplicationListenerOptions["bus"],
  options: Partial<ReplicationListenerOptions> = {},
): ReplicationListener {
  return new ReplicationListener({
    databaseUrl: db.url,
    slot: db.slot,
    bus,
    logger: new MemoryLogger(),
    heartbeatMs: 500,
    retryMs: 200,
    maxBackoffMs: 500,
    ...options,
  });
}

/** Every event that reached one user's channel, parsed. */
export class Inbox {
  readonly events: SyncEvent[] = [];

  static async open(bus: Bus, userId: string): Promise<Inbox> {
    const inbox = new Inbox();
    await bus.subscribe(userChannel(userId), (m) => inbox.events.push(JSON.parse(m)));
    return inbox;
  }

  /** Cursors of the `changes` events, in arrival order. */
  cursors(): string[] {
    return this.events.flatMap((e) => e.type === "changes" ? [e.cursor] : []);
  }

  /** Waits until a `changes` event carries the cursor of `seq`. */
  async waitForSeq(seq: number, timeoutMs = 10_000): Promise<void> {
    await eventually(() => this.cursors().includes(encodeCursor(seq)), timeoutMs, `seq ${seq}`);
  }
}

/** A bus that refuses publishes while `refuse(message)` answers true. */
export class RefusingBus implements Bus {
  readonly kind = "memory";
  refusals = 0;
  constructor(readonly inner: Bus, public refuse: (message: string) => boolean) {}

  publish(channel: string, message: string): Promise<void> {
    if (this.refuse(message)) {
      this.refusals++;
      return Promise.reject(new Error("Bus is down"));
    }
    return this.inner.publish(channel, message);
  }
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    return this.inner.subscribe(channel, onMessage);
  }
  unsubscribe(channel: string): Promise<void> {
    return this.inner.unsubscribe(channel);
  }
  ping(): Promise<boolean> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** One item row as the store writes it. */
export interface ItemRow {
  user: string;
  collection: string;
  id: string;
  seq: number;
  device?: string | null;
  data?: unknown;
}

/**
 * Upserts item rows in one transaction, like one accepted push. `whileOpen` runs after the
 * writes, before the commit (to put other WAL inside the transaction).
 */
export async function writeItems(
  driver: Driver,
  rows: ItemRow[],
  whileOpen?: () => Promise<unknown>,
): Promise<void> {
  await driver.transaction(async (tx) => {
    for (const row of rows) {
      await tx.query(
        `insert into items (user_id, collection, id, version, data, modified_at, device_id, seq)
         values ($1, $2, $3, 1, $4, 0, $5, $6)
         on conflict (user_id, collection, id)
         do update set version = items.version + 1, data = excluded.data,
                       device_id = excluded.device_id, seq = excluded.seq`,
        [
          row.user,
          row.collection,
          row.id,
          JSON.stringify(row.data ?? { n: row.seq }),
          row.device ?? null,
          row.seq,
        ],
      );
    }
    await whileOpen?.();
  });
}

/**
 * Where the WAL written so far ends: past every transaction committed before this call.
 * The insert position, not pg_current_wal_lsn(): with synchronous_commit=off (the test
 * cluster) a commit answers before its record is written. When the last record ended on
 * a page boundary the insert position already counts the next page's header, which no
 * flush or confirmation reaches until more WAL is written; that header is taken off.
 */
export async function walEnd(driver: Driver): Promise<bigint> {
  const [row] = await driver.query<{ lsn: string; page: number; segment: string }>(
    `select pg_current_wal_insert_lsn()::text as lsn,
            current_setting('wal_block_size')::int as page,
            pg_size_bytes(current_setting('wal_segment_size'))::text as segment`,
  );
  const at = parseLsn(row.lsn);
  const LONG_HEADER = 40n; // at the start of a segment
  const SHORT_HEADER = 24n; // at the start of every other page
  if (at % BigInt(row.segment) === LONG_HEADER) return at - LONG_HEADER;
  if (at % BigInt(row.page) === SHORT_HEADER) return at - SHORT_HEADER;
  return at;
}

/** Writes one of alice's commands in a transaction of its own (see writeItems). */
export function writeCommand(
  db: ReplicationDb,
  id: string,
  seq: number,
  whileOpen?: () => Promise<unknown>,
): Promise<void> {
  return writeItems(db.driver, [{ user: "alice", collection: "commands", id, seq }], whileOpen);
}

/** Log entries kept for assertions instead of printed. */
export class MemoryLogger implements ReplicationLogger {
  readonly entries: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  info(msg: string, fields?: Record<string, unknown>): void {
    this.entries.push({ level: "info", msg, fields });
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.entries.push({ level: "warn", msg, fields });
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.entries.push({ level: "error", msg, fields });
  }
}
