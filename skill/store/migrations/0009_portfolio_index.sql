-- The browser workspace's portfolio lists one date's accounts, filtered, sorted and a
-- page at a time, and compares each with its previous assessment (movers). This index
-- holds every column those queries read, by date and account, so over 100,000 accounts
-- they read the index only, never the rows with their documents.
CREATE INDEX IF NOT EXISTS assessments_portfolio ON assessments (
    as_of, account_id, score, band, segment, owner, arr, renewal_date, tier, confidence,
    name, flags
)
