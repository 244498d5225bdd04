import type { Queryable } from "./driver.ts";

/**
 * Runs ANALYZE on the service's tables that were never analyzed and hold rows, or changed by
 * more than 1,000 rows plus a tenth of their size since (autovacuum's rule, with a floor so a
 * small table is not analyzed every run); answers their names.
 *
 * Why: PGlite never autovacuums. Without statistics the planner guesses a handful of rows
 * per user and reads a pull page by sorting all of the user's rows (about 10x slower per
 * page at 10,000 rows) instead of walking the (user_id, seq) index. On Postgres autovacuum
 * has usually done it already, and this finds nothing to do.
 *
 * An empty table is left unanalyzed: statistics of no rows teach nothing, and the planner
 * would plan for an empty table (a sequential scan for every lookup) until the next ANALYZE,
 * in every prepared statement a connection cached meanwhile. Unanalyzed, it assumes a table
 * of at least ten pages and probes the indexes.
 */
export async function analyzeGrownTables(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ name: string }>(
    `select format('%I', c.relname) as name from pg_stat_user_tables s
     join pg_class c on c.oid = s.relid
     where s.schemaname = current_schema()
       and ((c.reltuples < 0 and pg_relation_size(c.oid) > 0)
         or s.n_mod_since_analyze > 1000 + 0.1 * c.reltuples)
     order by c.relname`,
  );
  // One table per statement: a few fixed texts for the drivers' prepared statements.
  for (const { name } of rows) await q.query(`analyze ${name}`);
  return rows.map((row) => row.name);
}
