import type { Driver } from "./driver.ts";
import { type Migration, MIGRATIONS } from "./migrations.ts";

// Any constant works; it only has to be the same for every instance of the service.
const MIGRATION_LOCK = 0x64705379;

/**
 * Applies the migrations (db/migrations.ts: the .sql files of db/migrations, embedded) in
 * name order, each once, recording them in `schema_migrations`. One transaction under an
 * advisory lock, so two instances starting together apply each file exactly once and a
 * failed file leaves nothing half-done. `migrations`: the first of them only, to test an upgrade
 * from an older schema.
 */
export async function migrate(
  driver: Driver,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<string[]> {
  return await driver.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query(
      `create table if not exists schema_migrations (
         name text primary key, applied_at timestamptz not null default now())`,
    );
    const done = new Set(
      (await tx.query<{ name: string }>("select name from schema_migrations")).map((r) => r.name),
    );
    const applied: string[] = [];
    for (const { name, sql } of migrations.filter((m) => !done.has(m.name))) {
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query("insert into schema_migrations (name) values ($1)", [name]);
      applied.push(name);
    }
    return applied;
  });
}

// Prepared statements take one command each; our migrations keep semicolons out of
// strings and bodies, so splitting on line-ending semicolons is exact.
function splitStatements(text: string): string[] {
  return text.replace(/^\s*--.*$/gm, "").split(/;\s*$/m).map((s) => s.trim()).filter(Boolean);
}
