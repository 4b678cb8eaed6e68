-- actions_by_state (state, owner_name) is a prefix of actions_by_state_owner
-- (0003): every query it served, that one serves; each outbox insert now
-- updates one index fewer.
DROP INDEX IF EXISTS actions_by_state
