-- Messages held for quiet hours whose window has opened by $1 (the gateway's clock, not Postgres's now(): see
-- gateway/compliance/quiet_hours.py), or whose community turned quiet hours off, go back to the queue, at most $2,
-- earliest first; they are decided again when sent. Rows another process is releasing are skipped, not waited
-- for, so each is released once.
WITH due AS (
    SELECT m.id FROM messages m
    WHERE m.waiting = 'held' AND m.status_reason = 'quiet_hours'
      AND (m.release_at <= $1
           OR NOT EXISTS (SELECT 1 FROM communities c WHERE c.id = m.community_id AND c.quiet_hours))
    ORDER BY m.release_at, m.id
    LIMIT $2
    FOR UPDATE OF m SKIP LOCKED
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
