-- Events to platforms (docs/webhooks.md): a tenant's HTTPS endpoints, one
-- delivery per endpoint and event written in the transaction of the change
-- (the outbox), and a log of every attempt.
CREATE TABLE webhook_endpoints (
    tenant_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    url TEXT NOT NULL,
    -- Comma-separated event kinds, e.g. call.scored,dispute.opened.
    event_kinds TEXT NOT NULL,
    -- whsec_ + base64 of 32 random bytes; signs every delivery.
    secret TEXT NOT NULL,
    -- The secret before the last rotation, also signed with until it expires.
    previous_secret TEXT NOT NULL DEFAULT '',
    previous_secret_expires_at_ms BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id)
);

CREATE TABLE webhook_deliveries (
    tenant_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    call_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    message TEXT NOT NULL,
    occurred_at_ms BIGINT NOT NULL,
    -- pending, delivered, failed.
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    -- A sender holds it until then; a crashed sender's delivery is retried after.
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at_ms BIGINT,
    PRIMARY KEY (tenant_id, delivery_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at_ms);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (tenant_id, endpoint_id, occurred_at_ms);

CREATE TABLE webhook_attempts (
    tenant_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    -- The HTTP status; 0 when no response came.
    status BIGINT NOT NULL,
    error TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, attempt_id)
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (tenant_id, delivery_id, at_ms);
