-- Overrides of graded checks record the share of points before and after.
ALTER TABLE audit_events ADD COLUMN old_fraction DOUBLE PRECISION;
ALTER TABLE audit_events ADD COLUMN new_fraction DOUBLE PRECISION;
