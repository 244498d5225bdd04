/**
 * Every migration, in the order it applies, embedded as text: migrating reads no file, so
 * `deno task start` needs no read permission for them and `deno compile` carries them in
 * the binary. A new file in db/migrations/ needs its line here (tests/db/migrations_test.ts
 * fails until it has one).
 */
import init from "./migrations/001_init.sql" with { type: "text" };
import conflictOutcomes from "./migrations/002_conflict_outcomes.sql" with { type: "text" };
import pushBookkeeping from "./migrations/003_push_bookkeeping.sql" with { type: "text" };
import deferredDedupe from "./migrations/004_deferred_dedupe.sql" with { type: "text" };
import deviceEvents from "./migrations/005_device_events.sql" with { type: "text" };
import accountTokens from "./migrations/006_account_tokens.sql" with { type: "text" };
import jobs from "./migrations/007_jobs.sql" with { type: "text" };
import teamSync from "./migrations/008_team_sync.sql" with { type: "text" };
import payloadStatistics from "./migrations/009_payload_statistics.sql" with { type: "text" };

/** One migration file: its name (recorded in `schema_migrations`) and its SQL. */
export interface Migration {
  name: string;
  sql: string;
}

/** In name order, which is the order they apply. */
export const MIGRATIONS: readonly Migration[] = [
  { name: "001_init.sql", sql: init },
  { name: "002_conflict_outcomes.sql", sql: conflictOutcomes },
  { name: "003_push_bookkeeping.sql", sql: pushBookkeeping },
  { name: "004_deferred_dedupe.sql", sql: deferredDedupe },
  { name: "005_device_events.sql", sql: deviceEvents },
  { name: "006_account_tokens.sql", sql: accountTokens },
  { name: "007_jobs.sql", sql: jobs },
  { name: "008_team_sync.sql", sql: teamSync },
  { name: "009_payload_statistics.sql", sql: payloadStatistics },
];
