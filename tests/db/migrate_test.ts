import assert from "node:assert/strict";
import { migrate } from "../../db/migrate.ts";
import { withDrivers } from "../support/drivers.ts";

withDrivers("migrate()", (open) => {
  Deno.test({
    name: "applies every file once, also when two instances start together",
    fn: async () => {
      await using h = await open({ migrated: false });
      const [a, b] = await Promise.all([migrate(h.driver), migrate(h.driver)]);
      const files = [
        "001_init.sql",
        "002_conflict_outcomes.sql",
        "003_push_bookkeeping.sql",
        "004_deferred_dedupe.sql",
        "005_device_events.sql",
        "006_account_tokens.sql",
        "007_jobs.sql",
        "008_team_sync.sql",
      ];
      assert.deepEqual([...a, ...b].sort(), files);
      assert.deepEqual(await migrate(h.driver), []);
      const rows = await h.driver.query<{ name: string }>("select name from schema_migrations");
      assert.deepEqual(rows.map((r) => r.name).sort(), files);
    },
  });
});
