/** The migrations are embedded: what `deno compile` carries, and what a read-less process runs. */
import assert from "node:assert/strict";
import { MIGRATIONS } from "../../db/migrations.ts";
import { openTestDb } from "../support/drivers.ts";

const DIR = new URL("../../db/migrations/", import.meta.url);

Deno.test("MIGRATIONS embeds every .sql file of db/migrations, in name order, verbatim", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(DIR)) {
    if (entry.isFile && entry.name.endsWith(".sql")) files.push(entry.name);
  }
  assert.deepEqual(MIGRATIONS.map((m) => m.name), files.sort());
  for (const { name, sql } of MIGRATIONS) {
    assert.equal(sql, await Deno.readTextFile(new URL(name, DIR)), name);
  }
});

Deno.test("migrate() runs in a process denied every file read (as in the compiled binary)", async () => {
  await using db = await openTestDb("postgres", { migrated: false });
  const script = new URL("./migrate_main.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-net", "--allow-env", "--deny-read", script, db.url!],
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const applied = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.deepEqual(applied, MIGRATIONS.map((m) => m.name));
  const rows = await db.driver.query<{ name: string }>(
    "select name from schema_migrations order by name",
  );
  assert.deepEqual(rows.map((r) => r.name), applied);
});
