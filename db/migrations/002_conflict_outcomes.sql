-- The strategy that settled a stale change, so stats and metrics can count conflicts per
-- strategy and outcome.
alter table applied_changes add column strategy text;
create index applied_changes_strategy on applied_changes (user_id, strategy) where strategy is not null;
