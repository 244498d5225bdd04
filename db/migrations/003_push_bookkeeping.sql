-- Cheaper push bookkeeping (measured on batches of 500 commands).
--
-- A change stored as sent (fast-forward `applied`, no strategy involved) no longer gets
-- an applied_changes row: the item version it wrote carries its change_id, in `items`
-- while current and in `item_versions` once superseded, so a retry is still recognised.
-- Every other outcome (filtered, duplicate, kept_remote, conflict, merged, and stale
-- changes settled by a strategy) keeps its applied_changes row.
-- must: whoever deletes items or item_versions rows (compaction, history limits) first
-- copies their change_ids into applied_changes, or retries of those changes apply again.
alter table item_versions add column change_id uuid;
create index item_versions_change on item_versions (user_id, change_id) where change_id is not null;
create index items_change on items (user_id, change_id);

-- The command dedupe key becomes the first 128 bits of the sha256 as a uuid: a quarter of
-- the index size of 64-char hex text, and the same value for rows already stored.
alter table items alter column dedupe_key type uuid using left(dedupe_key, 32)::uuid;
