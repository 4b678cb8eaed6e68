-- History, the action outbox and measurement. One row per account per as_of date.
-- Dates are ISO 8601 text; JSON columns hold the pydantic models' JSON.

CREATE TABLE runs (
    run_id           TEXT PRIMARY KEY,          -- sha256 of source content hash, as_of, level, policy
    as_of            TEXT NOT NULL,
    automation_level TEXT NOT NULL,
    policy_version   TEXT NOT NULL,
    source           TEXT NOT NULL,             -- file name as given
    source_hash      TEXT NOT NULL,             -- sha256 of the input bytes
    started_at       TEXT NOT NULL,             -- wall clock (the store may read it; the engine never)
    completed_at     TEXT,                      -- NULL while running or if killed
    assessed         INTEGER NOT NULL DEFAULT 0,
    rejected         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE snapshots (                        -- the input, per account per as_of
    account_id   TEXT NOT NULL,
    as_of        TEXT NOT NULL,
    record_json  TEXT NOT NULL,
    record_hash  TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES runs(run_id),
    PRIMARY KEY (account_id, as_of)
);

CREATE TABLE assessments (                      -- the engine's output, with columns to query
    account_id       TEXT NOT NULL,
    as_of            TEXT NOT NULL,
    automation_level TEXT NOT NULL,
    policy_version   TEXT NOT NULL,
    name             TEXT NOT NULL,
    segment          TEXT NOT NULL,
    owner            TEXT,
    arr              REAL,
    renewal_date     TEXT,
    score            INTEGER NOT NULL,
    band             TEXT NOT NULL,
    tier             TEXT NOT NULL,
    confidence       TEXT NOT NULL,
    legacy_total     INTEGER NOT NULL,
    legacy_band      TEXT NOT NULL,
    flags            TEXT NOT NULL,             -- JSON list of flag codes
    dimensions       TEXT NOT NULL,             -- JSON {dimension: score}
    assessment_json  TEXT NOT NULL,
    run_id           TEXT NOT NULL REFERENCES runs(run_id),
    PRIMARY KEY (account_id, as_of)
);
CREATE INDEX assessments_by_date ON assessments (as_of);

CREATE TABLE actions (                          -- the outbox: one row per triggered action
    action_key    TEXT PRIMARY KEY,             -- idempotency key: sha256(account_id|action|as_of)
    account_id    TEXT NOT NULL,
    as_of         TEXT NOT NULL,
    action        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    sensitivity   TEXT NOT NULL,
    owner         TEXT NOT NULL,                -- owner role
    owner_name    TEXT,
    priority      TEXT NOT NULL,
    due_date      TEXT NOT NULL,
    status        TEXT NOT NULL,                -- the engine's gate status; never changed here
    state         TEXT NOT NULL,                -- ready (auto) | pending (needs a decision) | approved | rejected | recommended | blocked
    action_json   TEXT NOT NULL,
    exported_at   TEXT
);
CREATE INDEX actions_by_state ON actions (state, owner_name);

CREATE TABLE action_decisions (                 -- every decision: who, when, why
    decision_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    action_key   TEXT NOT NULL REFERENCES actions(action_key),
    decision     TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    decided_by   TEXT NOT NULL,
    decided_at   TEXT NOT NULL,
    reason       TEXT
);

CREATE TABLE review_tasks (
    account_id  TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    owner       TEXT NOT NULL,
    due_date    TEXT NOT NULL,
    reasons     TEXT NOT NULL,                  -- JSON list
    state       TEXT NOT NULL DEFAULT 'open',   -- open | done
    PRIMARY KEY (account_id, as_of)
);

CREATE TABLE measurement_events (
    event_id    TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    event_json  TEXT NOT NULL
);

CREATE TABLE outcomes (                         -- what happened: renewed, churned, expanded, downgraded
    account_id    TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('renewed', 'churned', 'expanded', 'downgraded')),
    outcome_date  TEXT NOT NULL,
    imported_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, outcome_date)
);
