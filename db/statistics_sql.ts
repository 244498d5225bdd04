import type { Queryable } from "./driver.ts";

/**
 * Runs ANALYZE on the service's tables that were never analyzed and hold 10 pages, or
 * changed by more than 1,000 rows plus a tenth of their size since (autovacuum's rule,
 * with a floor so a small table is not analyzed every run); answers their names.
 *
 * Why: PGlite has no autovacuum (its driver vacuums, pglite_maintenance.ts, but does not
 * analyze). Without statistics the planner guesses a handful of rows per user and reads a
 * pull page by sorting all of the user's rows (about 10x slower per page at 10,000 rows)
 * instead of walking the (user_id, seq) index. On Postgres autovacuum
 * has usually done it already, and this finds nothing to do.
 *
 * must: leave a never-analyzed table alone below 10 pages. The planner takes such a table
 * for 10 pages at least and probes its indexes; analyzed (nearly) empty, it is believed
 * tiny, and the generic plan a prepared statement builds then scans it whole on every
 * execution until the next ANALYZE: on a fresh database every push read all items (a
 * push's reads took 1.4 ms instead of 0.2 ms by 3,000 items, and grew with the table).
 */
export async function analyzeGrownTables(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ name: string }>(
    `select format('%I', c.relname) as name from pg_stat_user_tables s
     join pg_class c on c.oid = s.relid
     where s.schemaname = current_schema()
       and (c.reltuples < 0 and pg_relation_size(c.oid) >= 10 * current_setting('block_size')::int
         or c.reltuples >= 0 and s.n_mod_since_analyze > 1000 + 0.1 * c.reltuples)
     order by c.relname`,
  );
  // One table per statement: a few fixed texts for the drivers' prepared statements.
  for (const { name } of rows) await q.query(`analyze ${name}`);
  return rows.map((row) => row.name);
}
