-- Coaching reads (trends, coaching focus) fetch every current row of one
-- agent or team in time order: thousands of rows at a million scorecards.
-- These indexes hold every column those queries select, in the order they
-- sort by, so each row comes from the index instead of one random table
-- page per row (the table rows are wide: they carry the scorecard JSON).
CREATE INDEX scorecards_agent_trend ON scorecards
    (tenant_id, agent_id, is_current, call_started_at_ms, scorecard_id, overall_score);
CREATE INDEX criteria_agent_trend ON scorecard_criteria
    (tenant_id, agent_id, is_current, call_started_at_ms, scorecard_id, criterion_id, score, failed_checks);
CREATE INDEX criteria_team_trend ON scorecard_criteria
    (tenant_id, team_id, is_current, call_started_at_ms, scorecard_id, criterion_id, agent_id, score, failed_checks);
