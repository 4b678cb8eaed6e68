-- What a superseded review task was before a newer assessment replaced it: open
-- (a task the owner was asked to do) or also_at_risk (deferred by the review
-- budget). Tasks superseded before this column existed keep NULL: not recorded.
ALTER TABLE review_tasks ADD COLUMN superseded_from TEXT
