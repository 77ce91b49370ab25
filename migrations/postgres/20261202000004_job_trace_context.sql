-- The W3C traceparent of the submission that queued the job, so the
-- worker's spans join the SubmitCall trace on any replica ('' untraced).
ALTER TABLE jobs ADD COLUMN trace_context TEXT NOT NULL DEFAULT '';
