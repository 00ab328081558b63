-- A community's day is the one it was reset into, whatever its time zone says later: a time zone change
-- neither starts a new day nor clears the count. day_started_at is the local midnight that began
-- current_day; the next reset comes at a later local midnight at least 23 hours after it (see
-- reset_daily_limits.sql).
ALTER TABLE communities ADD COLUMN day_started_at timestamptz;

-- Names Postgres refuses (written before the API checked them) stopped the daily reset for everyone. Those
-- that name a zone under another spelling ("posix/X", "right/X": the same zone, the latter counting leap
-- seconds) become that zone; any other becomes UTC, the default.
WITH zones AS MATERIALIZED (SELECT name FROM pg_timezone_names)
UPDATE communities
SET timezone = CASE WHEN substring(timezone FROM '^(?:posix|right)/(.+)$') IN (SELECT name FROM zones)
                    THEN substring(timezone FROM '^(?:posix|right)/(.+)$') ELSE 'UTC' END
WHERE timezone NOT IN (SELECT name FROM zones);

UPDATE communities SET day_started_at = current_day::timestamp AT TIME ZONE timezone WHERE current_day IS NOT NULL;

-- The day whose Redis counters were last loaded from the mirror: a second load on the same day means Redis
-- lost them, with sends in flight that the mirror does not have yet (see load_usage_counters.sql).
ALTER TABLE communities ADD COLUMN counters_loaded_day date;
