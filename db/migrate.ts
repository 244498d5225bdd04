import type { Driver } from "./driver.ts";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
// Any constant works; it only has to be the same for every instance of the service.
const MIGRATION_LOCK = 0x64705379;

/**
 * Applies the .sql files of db/migrations in name order, each once, recording them in
 * `schema_migrations`. One transaction under an advisory lock, so two instances starting
 * together apply each file exactly once and a failed file leaves nothing half-done.
 */
export async function migrate(driver: Driver): Promise<string[]> {
  const files = await migrationFiles();
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
    for (const file of files.filter((f) => !done.has(f))) {
      const text = await Deno.readTextFile(new URL(file, MIGRATIONS_DIR));
      for (const statement of splitStatements(text)) await tx.query(statement);
      await tx.query("insert into schema_migrations (name) values ($1)", [file]);
      applied.push(file);
    }
    return applied;
  });
}

async function migrationFiles(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(MIGRATIONS_DIR)) {
    if (entry.isFile && entry.name.endsWith(".sql")) names.push(entry.name);
  }
  return names.sort();
}

// Prepared statements take one command each; our migrations keep semicolons out of
// strings and bodies, so splitting on line-ending semicolons is exact.
function splitStatements(text: string): string[] {
  return text.replace(/^\s*--.*$/gm, "").split(/;\s*$/m).map((s) => s.trim()).filter(Boolean);
}
