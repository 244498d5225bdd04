/**
 * Redaction (DESIGN.md §10): the time `POST /api/sync/redact`'s work takes to erase one
 * pattern's matches among 100,000 stored commands of one user (RedactionService over the
 * real store: a linear-time scan of every item and its history in pages, then bounded
 * erasing transactions), against a plain-SQL baseline: one UPDATE with Postgres's own
 * regular expression that turns the same rows into tombstones, with no history, conflicts
 * or change_ids to look after. On Postgres, and on the embedded database (PGlite).
 */
import type { Driver } from "../db/driver.ts";
import { openPgliteDriver } from "../db/pglite_driver.ts";
import { migrate } from "../db/migrate.ts";
import { SqlStore } from "../db/sql_store.ts";
import { analyzeGrownTables } from "../db/statistics_sql.ts";
import { WAL_NOTIFIER } from "../sync/change_notifier.ts";
import { RedactionService } from "../sync/redaction.ts";
import { benchMain } from "./support/bench_env.ts";
import { openBenchDb } from "./support/bench_db.ts";
import { figure } from "./support/report.ts";
import { int, ratio } from "./support/stats.ts";

const COMMANDS = 100_000;
/** One command in this many holds the leaked token. */
const EVERY = 100;
const PATTERN = "tok_[0-9a-f]{8}";

export async function run(): Promise<string[]> {
  const lines = [
    `redaction: one pattern over ${int(COMMANDS)} stored commands of one user ` +
    `(${int(COMMANDS / EVERY)} match)`,
  ];
  {
    await using bench = await openBenchDb();
    lines.push(await measure("postgres", bench.db.driver));
  }
  const pglite = await openPgliteDriver();
  try {
    await migrate(pglite);
    lines.push(await measure("embedded", pglite));
  } finally {
    await pglite.close();
  }
  return lines;
}

async function measure(kind: string, driver: Driver): Promise<string> {
  await seed(driver, "redacting");
  await seed(driver, "baseline");
  // As a deployment has them (autovacuum, the embedded database's jobs). Without, the
  // baseline's plan was the planner's guess for a table it never saw analyzed, or whatever
  // an autoanalyze in the middle of the run made of it: once a nested loop that ran the
  // regular expression over the whole table for each row it updated (not done after 8 min).
  await analyzeGrownTables(driver);
  const service = new RedactionService(new SqlStore(driver), WAL_NOTIFIER);
  const account = {
    userId: "redacting",
    tier: "pro" as const,
    tierExpiresAt: null,
    teamId: null,
    teamRole: "member" as const,
  };
  let start = performance.now();
  const { redacted } = await service.redact({ deviceId: crypto.randomUUID(), account }, {
    pattern: PATTERN,
  });
  const ours = performance.now() - start;
  start = performance.now();
  const [{ n }] = await driver.query<{ n: number }>(
    `with matched as (
       select id, row_number() over (order by id) as n from items
       where user_id = 'baseline' and collection = 'commands' and data ->> 'command' ~ $1
     ), done as (
       update items i set version = i.version + 1, data = null, deleted = true, redacted = true,
         dedupe_key = null, seq = ${COMMANDS} + m.n
       from matched m where i.user_id = 'baseline' and i.collection = 'commands' and i.id = m.id
       returning 1
     ) select count(*)::int as n from done`,
    [PATTERN],
  );
  const plain = performance.now() - start;
  if (redacted !== COMMANDS / EVERY || n !== redacted) {
    throw new Error(`Redacted ${redacted}, the baseline ${n}: expected ${COMMANDS / EVERY}`);
  }
  return figure({
    name: `redaction, one pattern over ${int(COMMANDS)} commands (${kind})`,
    value: ours,
    unit: "ms",
    baseline: `${ratio(ours / plain)} a plain UPDATE's ${int(plain)} ms, which keeps no ` +
      `history, conflicts or change_ids`,
  });
}

/** `COMMANDS` live commands of `userId` with sequence numbers 1…COMMANDS. */
async function seed(driver: Driver, userId: string): Promise<void> {
  await driver.query(
    `insert into users (user_id, tier, seq) values ($1, 'pro', ${COMMANDS})`,
    [userId],
  );
  await driver.query(
    `insert into items (user_id, collection, id, version, data, modified_at, seq, change_id)
     select $1, 'commands', gen_random_uuid()::text, 1,
       jsonb_build_object(
         'command', case when n % ${EVERY} = 0
           then format('curl -H "X-Key: tok_%s" https://api.example.com/v1/items/%s',
             lpad(to_hex(n), 8, '0'), n)
           else format('git commit -m "change %s" && git push origin main', n) end,
         'session_id', 's' || (n / 1000), 'started_at', 1700000000000 + n,
         'cwd', '/home/me/src/project', 'exit_code', 0),
       1700000000000 + n, n, gen_random_uuid()
     from generate_series(1, ${COMMANDS}) as n`,
    [userId],
  );
}

if (import.meta.main) await benchMain(run);
