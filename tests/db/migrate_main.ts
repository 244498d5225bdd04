/**
 * Migrates the Postgres database named by the first argument and prints the applied file
 * names as JSON: run by tests/db/migrations_test.ts in a process that may read no file.
 */
import { migrate } from "../../db/migrate.ts";
import { openPostgresDriver } from "../../db/postgres_driver.ts";

const driver = openPostgresDriver(Deno.args[0], { max: 1 });
try {
  console.log(JSON.stringify(await migrate(driver)));
} finally {
  await driver.close();
}
