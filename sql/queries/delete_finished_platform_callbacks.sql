-- Forget intercept and out-of-session callbacks finished more than $1 seconds ago (hooks.retention_days), at
-- most $2 of them, the oldest first; unfinished ones stay. Returns how many.
WITH gone AS (
    DELETE FROM platform_callbacks
    WHERE id IN (SELECT id FROM platform_callbacks
                 WHERE outcome IS NOT NULL AND finished_at < now() - make_interval(secs => $1)
                 ORDER BY finished_at LIMIT $2)
    RETURNING 1
)
SELECT count(*) FROM gone
