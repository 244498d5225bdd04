import assert from "node:assert/strict";
import { migrate } from "../../db/migrate.ts";
import { MIGRATIONS } from "../../db/migrations.ts";
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
        "009_payload_statistics.sql",
      ];
      assert.deepEqual([...a, ...b].sort(), files);
      assert.deepEqual(await migrate(h.driver), []);
      const rows = await h.driver.query<{ name: string }>("select name from schema_migrations");
      assert.deepEqual(rows.map((r) => r.name).sort(), files);
    },
  });

  Deno.test({
    name:
      "stops at 008 while a user id starts with team: (team sync's owner keys), and nothing of it applies",
    fn: async () => {
      await using h = await open({ migrated: false });
      const before = MIGRATIONS.filter((m) => m.name < "008");
      await migrate(h.driver, before);
      await h.driver.query("insert into users (user_id) values ('team:acme')");
      await assert.rejects(() => migrate(h.driver), /A user id starts with "team:"/);
      const columns = await h.driver.query(
        "select 1 from information_schema.columns where table_name = 'items' and column_name = 'author'",
      );
      assert.equal(columns.length, 0, "008 rolled back as a whole");
      await h.driver.query("update users set user_id = 'renamed' where user_id = 'team:acme'");
      assert.deepEqual(await migrate(h.driver), [
        "008_team_sync.sql",
        "009_payload_statistics.sql",
      ]);
    },
  });

  Deno.test({
    name:
      "ANALYZE keeps no statistics of the jsonb payloads (009), and keeps those of the columns and expressions queries filter on",
    fn: async () => {
      await using h = await open();
      await h.driver.query(
        `insert into items (user_id, collection, id, version, data, modified_at, change_id, seq)
         select 'u' || (g % 7), 'commands', g::text, 1,
           jsonb_build_object('command', 'ls ' || g, 'started_at', g), 1, gen_random_uuid(), g
         from generate_series(1, 500) g`,
      );
      await h.driver.query("analyze items");
      const columns = await h.driver.query<{ attname: string }>(
        `select attname from pg_stats where tablename = 'items'
           and attname in ('data', 'user_id', 'seq')
         union all
         select attname from pg_stats where tablename = 'items_command_started'
         order by attname`,
      );
      assert.deepEqual(columns.map((c) => c.attname), ["case", "seq", "user_id"]);
    },
  });
});
