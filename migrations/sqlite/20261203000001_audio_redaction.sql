-- Recordings lose what redaction masks: when the stored audio was replaced
-- by its redacted rendering (NULL: never replaced, nothing to mask).
ALTER TABLE calls ADD COLUMN audio_redacted_at_ms BIGINT;
-- The upload, sealed with the operator's key, when the tenant keeps originals
-- for re-transcription (NULL: not kept).
ALTER TABLE calls ADD COLUMN sealed_audio_key TEXT;

-- Blobs to delete that a committed change no longer references (the upload a
-- redacted recording replaced). Written in the same transaction as the
-- change, removed once the blob is gone, so a crash in between leaves the
-- deletion to the next worker sweep instead of leaving the secret stored.
CREATE TABLE blob_deletions (
    blob_key TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
