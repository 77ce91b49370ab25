-- Reviewers' queue: one task per sampled scorecard, written in the same
-- transaction as the scorecard (docs/review-queues.md).
CREATE TABLE review_tasks (
    tenant_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    call_started_at_ms BIGINT NOT NULL,
    -- Comma-separated rules that sampled it: random, critical_failure, low_confidence.
    reasons TEXT NOT NULL,
    -- The call's ISO week and random draw, so the sample can be recomputed.
    week TEXT NOT NULL,
    draw DOUBLE PRECISION NOT NULL,
    -- to_review, in_review, done.
    state TEXT NOT NULL,
    -- The reviewer's key id once claimed ('' before).
    assignee TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, task_id),
    UNIQUE (tenant_id, scorecard_id)
);
CREATE INDEX review_tasks_queue ON review_tasks (tenant_id, state, created_at_ms);
