-- Tenants, API keys and rubrics. Times are Unix epoch milliseconds (UTC).
CREATE TABLE tenants (
    tenant_id TEXT PRIMARY KEY NOT NULL,
    default_rubric_id TEXT,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    role TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

CREATE TABLE rubrics (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    rubric_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, rubric_id)
);

-- Published versions are immutable: rows are inserted, never updated.
CREATE TABLE rubric_versions (
    tenant_id TEXT NOT NULL,
    rubric_id TEXT NOT NULL,
    version TEXT NOT NULL,
    publish_seq INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    document TEXT NOT NULL,
    published_at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, rubric_id, version),
    UNIQUE (tenant_id, rubric_id, publish_seq),
    FOREIGN KEY (tenant_id, rubric_id) REFERENCES rubrics (tenant_id, rubric_id)
);
