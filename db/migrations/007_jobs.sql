-- Scheduled jobs (free-tier retention, expire rules, tombstone compaction) find their
-- rows through these partial indexes instead of scanning every item each run.
-- Live commands by run time. The expression must stay identical to STARTED_AT in
-- db/jobs_sql.ts; the guard keeps a non-numeric started_at from ever failing a write.
create index items_command_started on items (user_id, (case when jsonb_typeof(data -> 'started_at') = 'number' then (data ->> 'started_at')::numeric end), id)
  where collection = 'commands' and not deleted;
create index items_tombstones on items (user_id, seq) where deleted;
-- The few users whose sync settings hold an expire rule.
create index items_expire_rules on items (user_id)
  where collection = 'settings' and id = 'sync' and data -> 'history_rules' @> '[{"action": "expire"}]';
create index users_free on users (user_id) where tier = 'free';
