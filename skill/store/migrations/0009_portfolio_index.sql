-- The browser workspace's portfolio page lists one date's accounts, filtered, sorted
-- and a page at a time. This index holds every column it reads, in the default order
-- (lowest score first), so a page over 100,000 accounts reads the index only, never
-- the rows with their documents.
CREATE INDEX IF NOT EXISTS assessments_portfolio ON assessments (
    as_of, score, account_id, band, segment, owner, arr, renewal_date, tier, confidence,
    name, flags
)
