-- No statement filters or joins on these jsonb columns themselves: the jobs' filters are on
-- expressions of `data`, whose statistics ANALYZE takes from the expression index
-- (items_command_started) or does not use. The column statistics were only cost: ANALYZE of
-- items sorts and compares its sample of documents, on the embedded database a stall for
-- every request (45,000 commands: 45-48 ms, 39-41 ms without; 300,000 small documents:
-- 38-171 ms, 29-32 ms without).
alter table items alter column data set statistics 0;
alter table item_versions alter column data set statistics 0;
alter table conflicts alter column base set statistics 0,
  alter column local set statistics 0,
  alter column remote set statistics 0;
