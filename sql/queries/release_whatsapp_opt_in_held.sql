-- The platform recorded $2's opt-in with the community $1: their texts held for it go back to the queue (oldest
-- first), where begin_send decides again (their window may be closed: then the template goes and they wait).
WITH released AS (
    UPDATE messages
    SET status = 'queued', status_reason = NULL, updated_at = now()
    WHERE to_number = $2 AND status = 'held' AND status_reason = 'whatsapp_opt_in'
      AND from_number IN (SELECT phone FROM community_numbers WHERE community_id = $1)
    RETURNING id, priority, from_number, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM released
)
SELECT id, priority, from_number, segments FROM released ORDER BY id
