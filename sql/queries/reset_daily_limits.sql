-- Communities whose local day has ended: one process each (SKIP LOCKED), once per day. A community that
-- sent its whole limit on the day that ended moves up a level. A reset missed while every gateway was
-- down happens at the next start. $1 the configured daily levels, $2 the configured ceiling.
WITH due AS (
    SELECT c.id, c.current_day, c.daily_level, (now() AT TIME ZONE c.timezone)::date AS today,
           coalesce(c.daily_limit_levels, $1::int[]) AS levels, coalesce(c.daily_limit_ceiling, $2::int) AS ceiling
    FROM communities c
    WHERE c.current_day IS DISTINCT FROM (now() AT TIME ZONE c.timezone)::date
    FOR UPDATE SKIP LOCKED
), judged AS (
    SELECT d.id, d.today,
           d.current_day IS NOT NULL AND d.daily_level <= cardinality(d.levels)
               AND (SELECT coalesce(sum(u.segments), 0) FROM usage_counters u
                    WHERE u.community_id = d.id AND u.period = 'day' AND u.period_start = d.current_day)
                   >= d.levels[d.daily_level] AS level_up
    FROM due d
)
UPDATE communities c
SET current_day = j.today, daily_level = c.daily_level + CASE WHEN j.level_up THEN 1 ELSE 0 END
FROM judged j
WHERE c.id = j.id
RETURNING c.id, c.daily_level, j.level_up
