-- The carrier took $4 segments: add them to the community's day ($2) and month ($3).
INSERT INTO usage_counters (community_id, period, period_start, segments)
VALUES ($1, 'day', $2, $4), ($1, 'month', $3, $4)
ON CONFLICT (community_id, period, period_start) DO UPDATE SET segments = usage_counters.segments + excluded.segments
