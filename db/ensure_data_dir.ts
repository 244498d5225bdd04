/**
 * Makes `dataDir` a new embedded database unless it holds one: it unpacks the directory
 * initdb made in PGlite (db/pgdata_template.b64, `deno task pgdata-template`) instead of
 * running initdb.
 *
 * Why: PGlite's initdb runs in a second PGlite and copies that one's whole WebAssembly memory
 * before each of its Postgres runs, and both memories stay resident until it ends: a first
 * start peaked at 637-668 MB of RSS, more than a service limited to 256 or 512 MB may take,
 * where a restart peaks at about 220 MB. Unpacked, a first start peaks as a restart does
 * (the template's text, about 6 MB, stays loaded in a process that made a database). Every
 * database made so shares initdb's system identifier, which nothing here reads (it tells
 * replicas of one cluster apart).
 *
 * PG_VERSION is written last (Postgres and this check take a directory with it for a
 * database) and a marker first: a start cut short unpacks again over what it left. A
 * directory with other files in it is refused, not written into.
 */
export async function ensureDataDir(dataDir: string): Promise<void> {
  const marker = `${dataDir}/${UNPACKING}`;
  if (await exists(`${dataDir}/PG_VERSION`)) {
    // A start cut short after PG_VERSION was written left the marker.
    await Deno.remove(marker).catch(() => {});
    return;
  }
  const found = await Array.fromAsync(Deno.readDir(dataDir), (entry) => entry.name);
  if (found.length > 0 && !found.includes(UNPACKING)) {
    throw new NotADatabaseDir(dataDir);
  }
  await Deno.writeFile(marker, new Uint8Array());
  // Loaded here, not at the top: a restart never needs them.
  const { parseTarGzip } = await import("nanotar");
  const { default: template } = await import("./pgdata_template.b64", { with: { type: "text" } });
  const files = await parseTarGzip(Uint8Array.fromBase64(template));
  const version = files.find((file) => file.name === "PG_VERSION");
  if (!version) throw new Error("The database template holds no PG_VERSION");
  for (const file of [...files.filter((file) => file !== version), version]) {
    // nanotar has made each name relative and resolved its "..": none leaves the directory.
    const path = `${dataDir}/${file.name}`;
    const mode = parseInt(file.attrs?.mode ?? "", 8) || undefined;
    if (file.type === "directory") await Deno.mkdir(path, { recursive: true, mode });
    else if (file.type === "file") {
      await Deno.writeFile(path, file.data ?? new Uint8Array(), { mode });
    } else throw new Error(`The database template holds a ${file.type} (${file.name})`);
  }
  await Deno.remove(marker);
}

/** The directory holds files, none of them PG_VERSION, and was not being unpacked. */
export class NotADatabaseDir extends Error {
  override name = "NotADatabaseDir";
  constructor(readonly dataDir: string) {
    super(`"${dataDir}" holds files but no database (no PG_VERSION)`);
  }
}

/** Beside the database's files while they are unpacked. */
export const UNPACKING = ".devpocket-unpacking";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
