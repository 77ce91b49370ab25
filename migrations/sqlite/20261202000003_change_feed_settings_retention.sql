-- The change feed (docs/change-feed.md): an outbox row written in the same
-- transaction as each change, read in seq order by WatchCall (and, later,
-- webhooks and the console). Rows are pruned after a retention period.
CREATE TABLE change_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    -- call.queued, call.progress, call.scored, call.failed, call.deleted,
    -- scorecard.reviewed, ...
    kind TEXT NOT NULL,
    call_id TEXT NOT NULL,
    -- The call's state after the change (NULL for call.deleted).
    stage TEXT,
    progress REAL,
    message TEXT NOT NULL DEFAULT '',
    scorecard_id TEXT,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX change_events_by_call ON change_events (tenant_id, call_id, seq);
CREATE INDEX change_events_by_time ON change_events (created_at_ms);

-- Per-tenant settings (docs/tenant-settings.md): one row per tenant and
-- setting name, value as JSON text, versioned for optimistic concurrency.
CREATE TABLE tenant_settings (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    name TEXT NOT NULL,
    value_json TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- What retention removed, and what settings changed: tenant-level audit.
CREATE TABLE tenant_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    -- settings.changed, retention.audio_purged, retention.transcript_purged
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    call_id TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    at_ms INTEGER NOT NULL
);
CREATE INDEX tenant_events_by_tenant ON tenant_events (tenant_id, at_ms);

-- When retention deleted a call's recording and its transcript.
ALTER TABLE calls ADD COLUMN audio_purged_at_ms INTEGER;
ALTER TABLE calls ADD COLUMN transcript_purged_at_ms INTEGER;

-- The fence for conditional settings updates (the API's etag).
ALTER TABLE tenants ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 0;
