-- The review queue in its listing order (due date, account, date) per state: the
-- browser workspace's queue page and `review list --state open` read one page of
-- it instead of sorting every open task first.
CREATE INDEX IF NOT EXISTS review_tasks_queue ON review_tasks (state, due_date, account_id, as_of)
