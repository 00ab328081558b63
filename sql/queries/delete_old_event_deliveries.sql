-- Forget delivered and failed event deliveries last changed more than $1 seconds ago (hooks.retention_days), at
-- most $2 of them, the oldest first; pending ones stay. Returns how many.
WITH gone AS (
    DELETE FROM webhook_deliveries
    WHERE id IN (SELECT id FROM webhook_deliveries
                 WHERE status <> 'pending' AND updated_at < now() - make_interval(secs => $1)
                 ORDER BY updated_at LIMIT $2)
    RETURNING 1
)
SELECT count(*) FROM gone
