import type { Queryable } from "../../db/driver.ts";

/**
 * Every row of every table of the schema, as text, that holds `needle`: a generic proof
 * that a redaction left no trace, whatever table a later migration adds.
 */
export async function rowsHolding(db: Queryable, needle: string): Promise<string[]> {
  const tables = await db.query<{ name: string }>(
    `select quote_ident(table_name) as name from information_schema.tables
     where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
  );
  if (tables.length < 6) throw new Error(`Only ${tables.length} tables found: wrong schema?`);
  const found: string[] = [];
  for (const { name } of tables) {
    const rows = await db.query<{ row: string }>(`select t::text as row from ${name} t`);
    found.push(
      ...rows.filter(({ row }) => row.includes(needle)).map(({ row }) => `${name}: ${row}`),
    );
  }
  return found;
}
