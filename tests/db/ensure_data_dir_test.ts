import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { ensureDataDir, NotADatabaseDir, UNPACKING as MARKER } from "../../db/ensure_data_dir.ts";
import { openPgliteDriver } from "../../db/pglite_driver.ts";
import template from "../../db/pgdata_template.b64" with { type: "text" };

async function withDataDir(fn: (dataDir: string) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-ensure-" });
  try {
    await fn(dataDir);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** Opens the database in `dataDir`, runs `sql`, closes it. */
async function queryOnce(dataDir: string, sql: string): Promise<unknown[]> {
  const db = await openPgliteDriver(dataDir);
  try {
    return await db.query(sql);
  } finally {
    await db.close();
  }
}

/** The unpacking marker is gone from `dataDir`. */
async function assertNoMarker(dataDir: string) {
  await assert.rejects(Deno.stat(`${dataDir}/${MARKER}`), Deno.errors.NotFound);
}

Deno.test("a new embedded database is unpacked from the template, keeps its data across a restart, and a restart unpacks nothing again", () =>
  withDataDir(async (dataDir) => {
    const first = await openPgliteDriver(dataDir);
    await first.query("create table kept (n int)");
    await first.query("insert into kept values (42)");
    const [{ id }] = await first.query<{ id: string }>(
      "select system_identifier::text as id from pg_control_system()",
    );
    await first.close();
    assert.equal(id, await templateIdentifier(), "made from the template, not by initdb");
    await assertNoMarker(dataDir);
    const made = (await Deno.stat(`${dataDir}/PG_VERSION`)).mtime;

    // A start cut short after PG_VERSION, before the marker went: the marker goes now.
    await Deno.writeFile(`${dataDir}/${MARKER}`, new Uint8Array());
    await ensureDataDir(dataDir);
    assert.deepEqual((await Deno.stat(`${dataDir}/PG_VERSION`)).mtime, made);
    await assertNoMarker(dataDir);
    assert.deepEqual(await queryOnce(dataDir, "select n from kept"), [{ n: 42 }]);
  }));

Deno.test("a first start cut short while unpacking unpacks again over what it left", () =>
  withDataDir(async (dataDir) => {
    await Deno.writeFile(`${dataDir}/${MARKER}`, new Uint8Array());
    await Deno.mkdir(`${dataDir}/global`);
    await Deno.writeTextFile(`${dataDir}/global/pg_control`, "cut");

    await ensureDataDir(dataDir);
    await assertNoMarker(dataDir);
    assert.equal((await Deno.stat(`${dataDir}/global/pg_control`)).size, 8192);
    assert.deepEqual(await queryOnce(dataDir, "select 6 * 7 as n"), [{ n: 42 }]);
  }));

Deno.test("a database directory holding other files is refused, naming it, and left as it was", () =>
  withDataDir(async (dataDir) => {
    await Deno.writeTextFile(`${dataDir}/notes.txt`, "mine");

    await assert.rejects(
      () => openPgliteDriver(dataDir),
      (error: Error) => {
        assert.ok(error instanceof NotADatabaseDir);
        assert.match(
          error.message,
          /^".*devpocket-ensure-.*" holds files but no database \(no PG_VERSION\)$/,
        );
        return true;
      },
    );
    const left = await Array.fromAsync(Deno.readDir(dataDir), (entry) => entry.name);
    assert.deepEqual(left, ["notes.txt"]);
    assert.equal(await Deno.readTextFile(`${dataDir}/notes.txt`), "mine");
  }));

Deno.test("the database template is what this PGlite's initdb makes: same Postgres, same catalog and control file versions (else run `deno task pgdata-template`)", async () => {
  const fromTemplate = await PGlite.create({ loadDataDir: templateBlob() });
  const fromInitdb = await PGlite.create();
  try {
    const versions = async (db: PGlite) => ({
      ...(await db.query(
        `select current_setting('server_version') as server, pg_control_version as control,
           catalog_version_no as catalog from pg_control_system()`,
      )).rows[0] as Record<string, unknown>,
      databases: (await db.query<{ datname: string }>(
        "select datname from pg_database order by datname",
      )).rows.map((row) => row.datname),
    });
    assert.deepEqual(await versions(fromTemplate), await versions(fromInitdb));
  } finally {
    await Promise.all([fromTemplate.close(), fromInitdb.close()]);
  }
});

function templateBlob(): Blob {
  return new Blob([Uint8Array.fromBase64(template)]);
}

async function templateIdentifier(): Promise<string> {
  const db = await PGlite.create({ loadDataDir: templateBlob() });
  try {
    const { rows } = await db.query<{ id: string }>(
      "select system_identifier::text as id from pg_control_system()",
    );
    return rows[0].id;
  } finally {
    await db.close();
  }
}
