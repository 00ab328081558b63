-- Start a new day for communities whose day has ended: one process each (SKIP LOCKED). A day ends at a local
-- midnight (in the time zone of the moment) that begins a later date than current_day and comes at least 23
-- hours after the midnight that began current_day: so a time zone change never ends a day early, and a day
-- is never shorter than a local day with a spring-forward hour. A community that sent its whole limit on
-- the day that ended moves up a level. A reset missed while every gateway was down happens at the next start.
-- A time zone Postgres cannot use (a row written before the API checked it) is skipped, not fatal for the
-- others: such rows come back with skipped = true and the previous values.
-- $1 the configured daily levels, $2 the configured ceiling.
WITH zones AS MATERIALIZED (
    SELECT name FROM pg_timezone_names
), local AS MATERIALIZED (
    -- Materialized: no expression with the time zone runs before the name has passed the filter.
    SELECT c.id, (now() AT TIME ZONE c.timezone)::date AS today,
           ((now() AT TIME ZONE c.timezone)::date::timestamp AT TIME ZONE c.timezone) AS midnight,
           coalesce(c.daily_limit_levels, $1::int[]) AS levels, coalesce(c.daily_limit_ceiling, $2::int) AS ceiling
    FROM communities c
    WHERE c.timezone IN (SELECT name FROM zones)
), due AS (
    -- The conditions read c, not the CTE: a row another process has just reset is judged again as it is now.
    SELECT c.id, c.current_day, c.daily_level, l.today, l.midnight, l.levels
    FROM local l JOIN communities c ON c.id = l.id
    WHERE (c.current_day IS NULL OR l.today > c.current_day)
      AND (c.day_started_at IS NULL OR l.midnight >= c.day_started_at + interval '23 hours')
    FOR NO KEY UPDATE OF c SKIP LOCKED
), judged AS (
    SELECT d.id, d.today, d.midnight,
           d.current_day IS NOT NULL AND d.daily_level <= cardinality(d.levels)
               AND (SELECT coalesce(sum(u.segments), 0) FROM usage_counters u
                    WHERE u.community_id = d.id AND u.unit = 'sms_segment'  -- the ramp-up is of SMS segments
                      AND u.period = 'day' AND u.period_start = d.current_day)
                   >= d.levels[d.daily_level] AS level_up
    FROM due d
), reset AS (
    UPDATE communities c
    SET current_day = j.today, day_started_at = j.midnight,
        daily_level = c.daily_level + CASE WHEN j.level_up THEN 1 ELSE 0 END
    FROM judged j
    WHERE c.id = j.id
    RETURNING c.id, c.daily_level, j.level_up
)
SELECT id, daily_level, level_up, false AS skipped FROM reset
UNION ALL
SELECT id, daily_level, false, true FROM communities WHERE timezone NOT IN (SELECT name FROM zones)
