-- The approval queue in its listing order (as_of, account, action), pending rows only:
-- `actions list --state pending` and the browser workspace's queue page read one page
-- of it instead of sorting every pending action first (100,000 accounts: a page in
-- milliseconds instead of seconds).
CREATE INDEX IF NOT EXISTS actions_pending_queue ON actions (as_of, account_id, action)
    WHERE state = 'pending'
