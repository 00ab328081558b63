-- Held messages go back to the queue, oldest first. $1 community, $2 reason, $3 ids (null: all of them),
-- $4 whether they may now pass the monthly limit (released from the review queue).
WITH released AS (
    UPDATE messages
    SET status = 'queued', status_reason = NULL, limit_override = limit_override OR $4, updated_at = now()
    WHERE community_id = $1 AND waiting = 'held' AND status_reason = $2 AND ($3::bigint[] IS NULL OR id = ANY($3))
    RETURNING id, priority, from_number, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM released
)
SELECT id, priority, from_number, segments FROM released ORDER BY id
