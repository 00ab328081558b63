-- Over a limit at send time: the message waits as held, with the reason; that try does not count.
WITH held AS (
    UPDATE messages SET status = 'held', status_reason = $2, attempts = attempts - 1, updated_at = now()
    WHERE id = $1 AND status = 'submitting'
    RETURNING id
)
INSERT INTO message_events (message_id, status) SELECT id, 'held' FROM held
