-- One row per account seen in a token. `seq` is the head of the user's change sequence:
-- every accepted write takes the next numbers while holding this row's lock, so numbers
-- are handed out in commit order per user and a cursor can never skip a later commit.
create table users (
  user_id text primary key,
  tier text not null default 'free',
  tier_expires_at timestamptz,
  team_id text,
  seq bigint not null default 0,
  purged_seq bigint not null default 0,
  updated_at timestamptz not null default now()
);

create table devices (
  id uuid primary key,
  user_id text not null references users (user_id),
  name text not null,
  platform text not null,
  install_id text,
  app_version text,
  token_hash text not null unique,
  cursor bigint not null default 0,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz
);
create unique index devices_install_id on devices (user_id, install_id) where install_id is not null;
create index devices_user on devices (user_id);
-- Deletes must carry user_id to the replication listener.
alter table devices replica identity full;

-- Current state of every item; `seq` is the sequence number of its latest change.
create table items (
  user_id text not null,
  collection text not null,
  id text not null,
  version integer not null,
  data jsonb,
  deleted boolean not null default false,
  redacted boolean not null default false,
  modified_at bigint not null,
  device_id uuid,
  change_id uuid,
  seq bigint not null,
  dedupe_key text,
  updated_at timestamptz not null default now(),
  primary key (user_id, collection, id)
);
create index items_user_seq on items (user_id, seq);
create unique index items_dedupe on items (user_id, collection, dedupe_key)
  where dedupe_key is not null;

-- Prior versions: the base of three-way merges and the record of resolved conflicts.
create table item_versions (
  user_id text not null,
  collection text not null,
  id text not null,
  version integer not null,
  data jsonb,
  deleted boolean not null,
  modified_at bigint not null,
  device_id uuid,
  seq bigint not null,
  created_at timestamptz not null default now(),
  primary key (user_id, collection, id, version)
);

-- Every change_id answered with a stored outcome, so a retried batch changes nothing.
create table applied_changes (
  user_id text not null,
  change_id uuid not null,
  collection text not null,
  item_id text not null,
  status text not null,
  version integer,
  conflict_id uuid,
  seq bigint,
  created_at timestamptz not null default now(),
  primary key (user_id, change_id)
);

create table conflicts (
  id uuid primary key,
  user_id text not null,
  collection text not null,
  item_id text not null,
  status text not null default 'open',
  strategy text not null,
  base jsonb,
  local jsonb not null,
  remote jsonb not null,
  change_id uuid,
  resolution text,
  resolved_version integer,
  created_at timestamptz not null default now(),
  resolved_at timestamptz
);
create index conflicts_user_status on conflicts (user_id, status, created_at);
alter table conflicts replica identity full;
