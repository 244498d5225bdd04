-- Team sync (DESIGN.md §11). A team's items are stored like a user's, owned by the
-- pseudo-user `team:<team_id>` (sync/teams.ts): its users row holds the team's sequence and
-- purged_seq and is locked by team writes as a user's row is by the user's.
-- must: no account may be such a pseudo-user. Account tokens whose sub starts with `team:`
-- are refused from now on; a user row that already does would read a team's items as its
-- own, so the migration stops rather than let it.
do $$ begin if exists (select 1 from users where user_id like 'team:%') then raise exception 'A user id starts with "team:", which team sync reserves: rename that user before upgrading' ; end if ; end $$;

-- The writer of a team item (its user id); null for a user's own items.
alter table items add column author text;
alter table item_versions add column author text;

-- A device's acknowledged cursor has two parts for a member of a team: `cursor` in the
-- user's stream, and `team_cursor` in the stream of team `cursor_team_id` (the team the
-- device's cursor counted when it acknowledged). Compaction and receipts read both.
alter table devices add column team_cursor bigint not null default 0;
alter table devices add column cursor_team_id text;

-- Tombstone compaction finds a team's members (and their devices) through this.
create index users_team on users (team_id) where team_id is not null;

-- A change of a user's team or tier (the newest account token names another team, none, or
-- a tier without team sync) reaches the replication listener as a transactional logical
-- message in the same commit, so every instance closes that user's sockets: they reconnect
-- to their new team's channel, and their stale cursors answer 410. Without logical WAL (the
-- embedded database) the service publishes this itself.
create function devpocket_account_event() returns trigger language plpgsql as $$
begin
  if current_setting('wal_level') = 'logical' then
    perform pg_logical_emit_message(true, 'devpocket.account', json_build_object(
      'user_id', new.user_id, 'tier', new.tier, 'team_id', new.team_id)::text)
  ; end if; return null
; end $$;

create trigger users_team_changed after update of tier, team_id on users
  for each row when ((old.tier, old.team_id) is distinct from (new.tier, new.team_id))
  execute function devpocket_account_event();
