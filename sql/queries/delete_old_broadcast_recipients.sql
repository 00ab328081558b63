-- Retention, rows: up to $2 recipients (each a phone) of broadcasts that finished more than $1 days ago, with no
-- message kept for them (skipped, or their message already deleted by delete_old_messages.sql), are deleted; the
-- broadcast's row stays. Returns how many.
WITH target AS (
    SELECT r.id FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id
    WHERE b.finished_at < now() - make_interval(days => $1) AND r.message_id IS NULL
    LIMIT $2
), gone AS (
    DELETE FROM broadcast_recipients r USING target t WHERE r.id = t.id RETURNING 1
)
SELECT count(*) FROM gone
