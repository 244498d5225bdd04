import assert from "node:assert/strict";
import { ensureDataDir } from "../../db/ensure_data_dir.ts";
import { openPgliteDriver } from "../../db/pglite_driver.ts";

Deno.test("an embedded database made on first start (in a worker) keeps its data across a restart, and a restart makes nothing again", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-ensure-" });
  try {
    const first = await openPgliteDriver(dataDir);
    await first.query("create table kept (n int)");
    await first.query("insert into kept values (42)");
    await first.close();
    const made = (await Deno.stat(`${dataDir}/PG_VERSION`)).mtime;

    await ensureDataDir(dataDir, []);
    assert.deepEqual((await Deno.stat(`${dataDir}/PG_VERSION`)).mtime, made);
    const restarted = await openPgliteDriver(dataDir);
    try {
      assert.deepEqual(await restarted.query("select n from kept"), [{ n: 42 }]);
    } finally {
      await restarted.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
