-- The newest account token seen for a user sets its account (DESIGN.md §3): `token_iat` is
-- that token's `iat` (unix seconds), so an older token seen later never overrides a newer
-- one, on any instance. Null: no token recorded yet (rows from before this migration), so
-- the next token seen sets it.
alter table users add column token_iat bigint;
alter table users add column team_role text not null default 'member';
