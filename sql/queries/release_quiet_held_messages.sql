-- Messages held for quiet hours whose window has opened by $1 (the gateway's clock, not Postgres's now(): see
-- gateway/compliance/quiet_hours.py) go back to the queue, at most $2, earliest first; they are decided again when
-- sent. Rows another process is releasing are skipped, not waited for, so each is released once.
WITH due AS (
    SELECT id FROM messages
    WHERE status = 'held' AND status_reason = 'quiet_hours' AND release_at <= $1
    ORDER BY release_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), released AS (
    UPDATE messages m
    SET status = 'queued', status_reason = NULL, release_at = NULL, updated_at = now()
    FROM due
    WHERE m.id = due.id AND m.status = 'held' AND m.status_reason = 'quiet_hours'
    RETURNING m.id, m.priority, m.from_number, m.segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM released
)
SELECT id, priority, from_number, segments FROM released ORDER BY id
