/**
 * `deno task pgdata-template`: writes db/pgdata_template.b64, the database directory a new
 * embedded data directory starts as (db/ensure_data_dir.ts): what initdb makes in PGlite,
 * as a gzipped tar in base64 (a text import: no read permission, carried by `deno compile`).
 * Run it again after upgrading @electric-sql/pglite; tests/db/ensure_data_dir_test.ts fails
 * until it is.
 */
import { PGlite } from "@electric-sql/pglite";

const TEMPLATE = new URL("../db/pgdata_template.b64", import.meta.url);

/** The template's text: base64 in lines of 76, which `Uint8Array.fromBase64` reads as one. */
async function pgdataTemplate(): Promise<string> {
  const db = await PGlite.create();
  try {
    const tar = new Uint8Array(await (await db.dumpDataDir("gzip")).arrayBuffer());
    return `${tar.toBase64().match(/.{1,76}/g)!.join("\n")}\n`;
  } finally {
    await db.close();
  }
}

if (import.meta.main) {
  await Deno.writeTextFile(TEMPLATE, await pgdataTemplate());
  console.log(`Wrote ${TEMPLATE.pathname}`);
}
