-- An account with no signal at all is assessed, not rejected: its score is not
-- known, so `score` may be NULL (band and tier `no_data`). SQLite cannot drop
-- NOT NULL in place, so the table is rebuilt with the same columns and index.
DROP INDEX assessments_by_date;
ALTER TABLE assessments RENAME TO assessments_before_0007;
CREATE TABLE assessments (
    account_id       TEXT NOT NULL,
    as_of            TEXT NOT NULL,
    automation_level TEXT NOT NULL,
    policy_version   TEXT NOT NULL,
    name             TEXT NOT NULL,
    segment          TEXT NOT NULL,
    owner            TEXT,
    arr              REAL,
    renewal_date     TEXT,
    score            INTEGER,                   -- NULL: no signal, band no_data
    band             TEXT NOT NULL,
    tier             TEXT NOT NULL,
    confidence       TEXT NOT NULL,
    legacy_total     INTEGER NOT NULL,
    legacy_band      TEXT NOT NULL,
    flags            TEXT NOT NULL,
    dimensions       TEXT NOT NULL,
    assessment_json  TEXT NOT NULL,
    run_id           TEXT NOT NULL REFERENCES runs(run_id),
    PRIMARY KEY (account_id, as_of)
);
INSERT INTO assessments SELECT
    account_id, as_of, automation_level, policy_version, name, segment, owner, arr,
    renewal_date, score, band, tier, confidence, legacy_total, legacy_band, flags,
    dimensions, assessment_json, run_id
  FROM assessments_before_0007;
DROP TABLE assessments_before_0007;
CREATE INDEX assessments_by_date ON assessments (as_of);
