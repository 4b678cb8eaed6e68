-- Calibration runs: what `account-health calibrate` fitted and where it wrote the weights.
-- A record only; the active policy never changes by itself.

CREATE TABLE calibrations (
    calibration_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    as_of           TEXT NOT NULL,              -- the date the calibration was run for
    created_at      TEXT NOT NULL,              -- wall clock
    policy_version  TEXT NOT NULL,              -- the policy whose weights were the "before"
    outcomes        INTEGER NOT NULL,           -- outcomes matched to an earlier assessment
    churned         INTEGER NOT NULL,
    held_out        INTEGER NOT NULL,           -- accounts in the held-out split
    auc_before      REAL,                       -- held-out ROC AUC, current weights
    auc_after       REAL,                       -- held-out ROC AUC, fitted weights
    weights_path    TEXT,                       -- NULL when nothing was written
    result_json     TEXT NOT NULL
);

-- For measure's follow-through and report's review queue over large outboxes:
-- both read only the index (state, owner, due date, as_of), never the rows.
CREATE INDEX IF NOT EXISTS actions_by_state_due ON actions (state, due_date, as_of);
CREATE INDEX IF NOT EXISTS actions_by_state_owner ON actions (state, owner_name, owner, due_date, as_of)
