import postgres from "postgres";
import type { Driver } from "../../db/driver.ts";
import { migrate } from "../../db/migrate.ts";
import { openPgliteDriver } from "../../db/pglite_driver.ts";
import { openPostgresDriver } from "../../db/postgres_driver.ts";
import { testDatabaseUrl } from "./services.ts";

export type DriverKind = "pglite" | "postgres";

/** A fresh, private database; disposing it closes and drops it. */
export interface TestDb extends AsyncDisposable {
  kind: DriverKind;
  driver: Driver;
  /** The database's URL (real Postgres only): for replication or a second instance. */
  url?: string;
}

export type OpenDb = (options?: { migrated?: boolean }) => Promise<TestDb>;

/** Registers the same cases for the embedded driver and for real Postgres. */
export function withDrivers(
  subject: string,
  register: (open: OpenDb, kind: DriverKind) => void,
): void {
  for (const kind of ["pglite", "postgres"] as const) {
    const open: OpenDb = (options) => openTestDb(kind, options);
    const originalTest = Deno.test;
    // Prefix every name so a failure says which driver it ran on.
    const prefixed = ((def: Deno.TestDefinition) =>
      originalTest({ ...def, name: `[${kind}] ${subject} ${def.name}` })) as typeof Deno.test;
    Object.assign(Deno, { test: prefixed });
    try {
      register(open, kind);
    } finally {
      Object.assign(Deno, { test: originalTest });
    }
  }
}

/** Opens a fresh database of the given kind, migrated unless told otherwise. */
export async function openTestDb(
  kind: DriverKind,
  { migrated = true } = {},
): Promise<TestDb> {
  if (kind === "pglite") {
    const driver = migrated
      ? await openPgliteDriver(undefined, await migratedSeed())
      : await openPgliteDriver();
    return { kind, driver, [Symbol.asyncDispose]: () => driver.close() };
  }
  const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  const driver = openPostgresDriver(url.toString(), { max: 5 });
  if (migrated) await migrate(driver);
  return {
    kind,
    driver,
    url: url.toString(),
    [Symbol.asyncDispose]: async () => {
      await driver.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

let seed: Promise<Blob> | null = null;

/**
 * One migrated embedded database, copied for each test: initdb takes seconds per
 * database, and hundreds of tests open one. `deno task test` makes it once for the whole
 * run (TEST_PGLITE_SEED names the file); a `deno test` by hand makes it once per test file.
 * Migrations themselves still run from scratch in the tests that open a database unmigrated.
 */
function migratedSeed(): Promise<Blob> {
  const file = Deno.env.get("TEST_PGLITE_SEED");
  seed ??= file ? Deno.readFile(file).then((bytes) => new Blob([bytes])) : makeMigratedSeed();
  return seed;
}

/** A fresh embedded database, migrated, as a `dump()`. */
export async function makeMigratedSeed(): Promise<Blob> {
  const driver = await openPgliteDriver();
  try {
    await migrate(driver);
    return await driver.dump();
  } finally {
    await driver.close();
  }
}
