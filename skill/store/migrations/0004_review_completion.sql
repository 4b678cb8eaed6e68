-- Who closed a review task, when, and what they noted. A task closed with a later
-- review of the same account names that review in its note.
ALTER TABLE review_tasks ADD COLUMN done_by TEXT;
ALTER TABLE review_tasks ADD COLUMN done_at TEXT;
ALTER TABLE review_tasks ADD COLUMN note TEXT
