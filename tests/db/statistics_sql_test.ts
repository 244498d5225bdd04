import assert from "node:assert/strict";
import { migrate } from "../../db/migrate.ts";
import { openPgliteDriver } from "../../db/pglite_driver.ts";
import { pageOf } from "../../db/pull_sql.ts";
import { analyzeGrownTables } from "../../db/statistics_sql.ts";

Deno.test("[pglite] ANALYZE samples 3,000 rows on the embedded database (memory it takes stays), and pull pages still walk items_user_seq after it", async () => {
  const db = await openPgliteDriver();
  try {
    await migrate(db);
    assert.deepEqual(await db.query("show default_statistics_target"), [
      { default_statistics_target: "10" },
    ]);
    // One heavy user and two light ones: a sample this small must still tell them apart.
    for (const [user, items] of [["heavy", 20_000], ["light", 2_000], ["new", 50]] as const) {
      await db.query("insert into users (user_id, tier) values ($1, 'pro')", [user]);
      await db.query(
        `insert into items (user_id, collection, id, version, data, deleted, redacted, modified_at, seq)
         select $1, 'commands', g::text, 1, jsonb_build_object('command', 'ls ' || g), false, false, 0, g
         from generate_series(1, $2::int) g`,
        [user, items],
      );
    }
    assert.deepEqual(await analyzeGrownTables(db), ["items"]);
    for (const user of ["heavy", "light", "new"]) {
      const plan = await db.query<{ "QUERY PLAN": string }>(
        `explain ${pageOf("seq, data").replace("u.user_id", "$1")}`,
        [user, 0, JSON.stringify(["commands", "settings"]), 1001],
      );
      const steps = plan.map((row) => row["QUERY PLAN"]).join("\n");
      assert.match(steps, /Index Scan using items_user_seq/, `${user}:\n${steps}`);
      assert.doesNotMatch(steps, /Sort|Seq Scan/, `${user}:\n${steps}`);
    }
  } finally {
    await db.close();
  }
});

Deno.test("[pglite] an embedded database on disk samples 3,000 rows after a restart too (the setting is not stored, it is given at each open)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "devpocket-statistics-" });
  try {
    for (let open = 0; open < 2; open++) {
      const db = await openPgliteDriver(dataDir);
      try {
        assert.deepEqual(await db.query("show default_statistics_target"), [
          { default_statistics_target: "10" },
        ]);
      } finally {
        await db.close();
      }
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
