-- actions_by_state_due (state, due_date, as_of) serves no query: every one that
-- filters the outbox by state reads actions_by_state_owner (state, owner_name,
-- owner, due_date, as_of), which holds the same columns. Each recorded action
-- updated it all the same: about a tenth of `run`'s time writing the outbox, and
-- some 140 bytes per account per date.
DROP INDEX IF EXISTS actions_by_state_due
