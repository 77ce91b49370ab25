-- Calibration sessions: an admin picks scored calls and reviewers, each
-- reviewer answers every check blind, agreement is computed on close
-- (docs/calibration.md).
CREATE TABLE calibration_sessions (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    -- NULL while reviewers answer.
    closed_at_ms BIGINT,
    PRIMARY KEY (tenant_id, session_id)
);
CREATE INDEX calibration_sessions_newest ON calibration_sessions (tenant_id, created_at_ms);

-- The calls, each with the scorecard its machine answers come from.
CREATE TABLE calibration_items (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    call_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, session_id, call_id)
);
CREATE INDEX calibration_items_by_call ON calibration_items (tenant_id, call_id);

-- The reviewers' key ids.
CREATE TABLE calibration_reviewers (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    reviewer TEXT NOT NULL,
    PRIMARY KEY (tenant_id, session_id, reviewer)
);
CREATE INDEX calibration_reviewers_by_key ON calibration_reviewers (tenant_id, reviewer);

-- One answer sheet per reviewer and call: JSON [{criterion_id, check_id,
-- outcome, fraction?}], replaced until the session closes.
CREATE TABLE calibration_answers (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    answers TEXT NOT NULL,
    note TEXT NOT NULL,
    answered_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, session_id, call_id, reviewer)
);
