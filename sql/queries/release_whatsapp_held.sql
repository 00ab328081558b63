-- The platform recorded $2's channel or opt-in with the community $1: their texts held for the reasons $3 on the
-- community's numbers go back to the queue (oldest first), where begin_send decides again (opted in but outside the
-- window: held for the window and the template goes; back on SMS: sent by SMS).
WITH released AS (
    UPDATE messages
    SET status = 'queued', status_reason = NULL, updated_at = now()
    WHERE to_number = $2 AND waiting = 'held' AND status_reason = ANY($3::text[])
      AND from_number IN (SELECT phone FROM community_numbers WHERE community_id = $1)
    RETURNING id, priority, from_number, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM released
)
SELECT id, priority, from_number, segments FROM released ORDER BY id
