-- Keys may be scoped: an agent key to one agent's scorecards, a coach key
-- to one team's ('' = unscoped). Disputes: an agent or coach contests one
-- check of a scorecard; a reviewer accepts (an override) or rejects it
-- (docs/disputes.md).
ALTER TABLE api_keys ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN team_id TEXT NOT NULL DEFAULT '';

CREATE TABLE disputes (
    tenant_id TEXT NOT NULL,
    dispute_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    criterion_id TEXT NOT NULL,
    check_id TEXT NOT NULL,
    -- open, accepted, rejected.
    state TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    comment TEXT NOT NULL,
    opened_at_ms BIGINT NOT NULL,
    resolved_by TEXT NOT NULL DEFAULT '',
    resolution TEXT NOT NULL DEFAULT '',
    resolved_at_ms BIGINT,
    PRIMARY KEY (tenant_id, dispute_id)
);
-- One open dispute per check of a scorecard.
CREATE UNIQUE INDEX disputes_one_open ON disputes (tenant_id, scorecard_id, criterion_id, check_id)
    WHERE state = 'open';
CREATE INDEX disputes_by_state ON disputes (tenant_id, state, opened_at_ms);
