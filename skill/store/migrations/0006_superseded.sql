-- A queue that stays true. When a newer assessment of an account is recorded,
-- its older pending actions and open review tasks become `superseded`: kept for
-- audit, never exported, not approvable. A pending action the newer assessment
-- proposes again stays the one live item and `last_proposed` moves to that date.
ALTER TABLE actions ADD COLUMN last_proposed TEXT;   -- latest as_of that proposed it
ALTER TABLE actions ADD COLUMN superseded_by TEXT;   -- as_of of the assessment that superseded it
ALTER TABLE review_tasks ADD COLUMN superseded_by TEXT;
UPDATE actions SET last_proposed = as_of;

-- Existing databases: only the pending actions and open tasks of each account's
-- latest assessment stay live; older ones are superseded by that assessment.
UPDATE actions SET state = 'superseded',
       superseded_by = (SELECT MAX(a.as_of) FROM assessments AS a
                        WHERE a.account_id = actions.account_id)
 WHERE state = 'pending'
   AND as_of < (SELECT MAX(a.as_of) FROM assessments AS a WHERE a.account_id = actions.account_id);
UPDATE review_tasks SET state = 'superseded',
       superseded_by = (SELECT MAX(a.as_of) FROM assessments AS a
                        WHERE a.account_id = review_tasks.account_id)
 WHERE state IN ('open', 'also_at_risk')
   AND as_of < (SELECT MAX(a.as_of) FROM assessments AS a
                WHERE a.account_id = review_tasks.account_id);

-- Each recorded account's pending actions, read before its new ones are written.
CREATE INDEX actions_pending_by_account ON actions (account_id, action) WHERE state = 'pending'
