import { parseTarGzip } from "nanotar";

/**
 * Makes `dataDir` a new embedded database unless it holds one: it unpacks the directory
 * initdb made in PGlite (db/pgdata_template.b64, `deno task pgdata-template`) instead of
 * running initdb.
 *
 * Why: PGlite's initdb runs in a second PGlite and copies that one's whole WebAssembly memory
 * before each of its Postgres runs, and both memories stay resident until it ends: a first
 * start peaked at 635-655 MB of RSS where a restart peaks at about 220 MB, so a service
 * limited to 256 or 512 MB was killed on its first start. Unpacked, a first start peaks as
 * a restart does. Every database made so shares initdb's system identifier, which nothing
 * here reads (it tells replicas of one cluster apart).
 *
 * PG_VERSION is written last (Postgres and this check take a directory with it for a
 * database) and a marker first: a start cut short unpacks again over what it left. A
 * directory with other files in it is refused, not written into.
 */
export async function ensureDataDir(dataDir: string): Promise<void> {
  const marker = `${dataDir}/${UNPACKING}`;
  if (await exists(`${dataDir}/PG_VERSION`)) {
    // A start cut short between the two.
    await Deno.remove(marker).catch(() => {});
    return;
  }
  const found = await entries(dataDir);
  if (found.length > 0 && !found.includes(UNPACKING)) {
    throw new Error(
      `DATA_DIR "${dataDir}" holds files but no database (no PG_VERSION): point DATA_DIR at an empty or missing directory, or at an embedded database`,
    );
  }
  await Deno.writeFile(marker, new Uint8Array());
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

/** Beside the database's files while they are unpacked. */
const UNPACKING = ".devpocket-unpacking";

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
