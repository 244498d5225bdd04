-- Command dedupe keys may move between items inside one batch (Y takes a new text, X takes
-- the one Y left; or two items swap texts). The batch updates its items in one statement,
-- and a unique index is checked row by row, so a batch whose rows happened to be visited in
-- the wrong order failed as a whole, on every retry. A deferred unique constraint is checked
-- at commit, on the final state. NULLs never collide (every item that is not a live command
-- has none), so it is the same rule as the partial index it replaces.
drop index items_dedupe;
alter table items add constraint items_dedupe unique (user_id, collection, dedupe_key)
  deferrable initially deferred;
