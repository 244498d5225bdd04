-- Command dedupe keys may move between items inside one batch (Y takes a new text, X takes
-- the one Y left; or two items swap texts). The batch updates its items in one statement,
-- and a unique index is checked row by row, so a batch whose rows happened to be visited in
-- the wrong order failed as a whole, on every retry. A deferred unique constraint is checked
-- at commit, on the final state. NULLs never collide (every item that is not a live command
-- has none), so it is the same rule as the partial index it replaces.
-- must: dedupe_key first. A constraint cannot be partial, so its index holds every item; led
-- by (user_id, collection) it also matched the lookups by item id, and with the fresh index's
-- statistics the planner preferred it to the primary key there, scanning all the user's rows.
drop index items_dedupe;
alter table items add constraint items_dedupe unique (dedupe_key, user_id, collection)
  deferrable initially deferred;
