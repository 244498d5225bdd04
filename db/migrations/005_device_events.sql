-- A device deletion, or a new token for a device registered again with its install_id,
-- reaches the replication listener as a transactional logical message in the same commit
-- (prefix `devpocket.device`, JSON {user_id, device_id, event}), so `devices` need not be
-- in the publication: its rows change on every last_seen_at refresh, which nobody is told
-- of. Without logical WAL (the embedded database) the service publishes these itself.
-- The migration runner splits on line-ending semicolons: the body keeps its own mid-line.
create function devpocket_device_event() returns trigger language plpgsql as $$
begin
  if current_setting('wal_level') = 'logical' then
    perform pg_logical_emit_message(true, 'devpocket.device', json_build_object(
      'user_id', old.user_id, 'device_id', old.id,
      'event', case tg_op when 'DELETE' then 'revoked' else 'token_replaced' end)::text)
  ; end if; return null
; end $$;

create trigger devices_revoked after delete on devices
  for each row execute function devpocket_device_event();

create trigger devices_token_replaced after update of token_hash on devices
  for each row when (old.token_hash is distinct from new.token_hash)
  execute function devpocket_device_event();
