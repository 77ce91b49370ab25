-- Key lifecycle: expiry (set by rotation's grace or at creation), the last
-- time a key authenticated (to the minute), and an audit of key events and
-- failed authentications.
ALTER TABLE api_keys ADD COLUMN expires_at_ms BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_at_ms BIGINT;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at_ms);

CREATE TABLE key_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    -- NULL for a failed authentication with a key id no tenant owns.
    tenant_id TEXT,
    key_id TEXT NOT NULL,
    -- created, revoked, rotated, auth_failed
    action TEXT NOT NULL,
    -- The admin key id, "cli", or "" for a failed authentication.
    actor TEXT NOT NULL,
    -- The peer address of a failed authentication.
    source TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    at_ms BIGINT NOT NULL
);
CREATE INDEX key_events_by_tenant ON key_events (tenant_id, at_ms);
