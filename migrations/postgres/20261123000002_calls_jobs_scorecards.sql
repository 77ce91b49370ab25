-- Calls, the durable job queue, scorecards, reviews and coaching notes.
-- Times are Unix epoch milliseconds (UTC).

-- Round-robin fairness between tenants: the worker claims from the tenant
-- that was served longest ago.
ALTER TABLE tenants ADD COLUMN last_claimed_at_ms BIGINT NOT NULL DEFAULT 0;

CREATE TABLE calls (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    call_id TEXT NOT NULL,
    external_call_id TEXT NOT NULL DEFAULT '',
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',
    call_started_at_ms BIGINT NOT NULL,
    language_hint TEXT NOT NULL,
    channel_layout TEXT NOT NULL,
    rubric_id TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    status TEXT NOT NULL,
    stage TEXT NOT NULL,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    failure_reason TEXT NOT NULL DEFAULT '',
    attempts BIGINT NOT NULL DEFAULT 0,
    audio_key TEXT,
    audio_bytes BIGINT NOT NULL DEFAULT 0,
    transcript_json TEXT,
    latest_scorecard_id TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, call_id)
);
CREATE UNIQUE INDEX calls_idempotency ON calls (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX calls_newest ON calls (tenant_id, created_at_ms, call_id);

CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    available_at_ms BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at_ms BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (tenant_id, call_id)
);
CREATE INDEX jobs_claimable ON jobs (state, available_at_ms);

CREATE TABLE scorecards (
    tenant_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    call_started_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    rubric_id TEXT NOT NULL,
    rubric_version TEXT NOT NULL,
    rubric_hash TEXT NOT NULL,
    model_id TEXT NOT NULL,
    -- The machine's scorecard, never changed after insert.
    machine_json TEXT NOT NULL,
    -- With reviewers' overrides applied.
    reviewed_json TEXT NOT NULL,
    overall_score DOUBLE PRECISION,
    has_critical_failure BIGINT NOT NULL,
    -- Bumped by every review, so concurrent overrides cannot overwrite each other.
    review_revision BIGINT NOT NULL DEFAULT 0,
    -- The call's newest scorecard: the one trends count.
    is_current BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, scorecard_id)
);
CREATE INDEX scorecards_newest ON scorecards (tenant_id, call_started_at_ms, scorecard_id);
CREATE INDEX scorecards_by_call ON scorecards (tenant_id, call_id);
CREATE INDEX scorecards_by_agent ON scorecards (tenant_id, agent_id, call_started_at_ms);

-- One row per criterion of each scorecard (reviewed scores), for filters and trends.
CREATE TABLE scorecard_criteria (
    tenant_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    criterion_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    call_started_at_ms BIGINT NOT NULL,
    is_current BIGINT NOT NULL,
    score DOUBLE PRECISION,
    failed_checks BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, scorecard_id, criterion_id)
);
CREATE INDEX criteria_by_agent ON scorecard_criteria (tenant_id, agent_id, call_started_at_ms);
CREATE INDEX criteria_by_team ON scorecard_criteria (tenant_id, team_id, call_started_at_ms);

CREATE TABLE audit_events (
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    criterion_id TEXT NOT NULL DEFAULT '',
    check_id TEXT NOT NULL DEFAULT '',
    old_outcome TEXT NOT NULL DEFAULT '',
    new_outcome TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    old_overall_score DOUBLE PRECISION,
    new_overall_score DOUBLE PRECISION,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX audit_by_scorecard ON audit_events (tenant_id, scorecard_id, at_ms);

CREATE TABLE coaching_notes (
    tenant_id TEXT NOT NULL,
    note_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    scorecard_id TEXT NOT NULL DEFAULT '',
    criterion_id TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, note_id)
);
CREATE INDEX notes_by_agent ON coaching_notes (tenant_id, agent_id, created_at_ms);
