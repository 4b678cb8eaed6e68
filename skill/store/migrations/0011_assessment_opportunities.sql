-- Opportunity flags per assessment, as a JSON list of codes beside `flags`, so the
-- report's risk/opportunity matrix and measure's expansion figures read a column,
-- not every assessment's JSON. NULL: recorded before opportunity flags existed
-- (not evaluated; measure leaves such outcomes out of the expansion figures).
ALTER TABLE assessments ADD COLUMN opportunities TEXT
