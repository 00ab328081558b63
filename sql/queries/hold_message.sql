-- Over a limit at send time: the message waits as held, with the reason $2 and its $3 segments (the sender
-- identification may have added one); that try does not count.
-- (By id alone, then checked: see begin_send.)
WITH target AS MATERIALIZED (
    SELECT id, status FROM messages WHERE id = $1 FOR UPDATE
), held AS (
    UPDATE messages m SET status = 'held', status_reason = $2, attempts = m.attempts - 1, segments = $3,
        updated_at = now()
    FROM target t
    WHERE m.id = t.id AND t.status = 'submitting'
    RETURNING m.id
)
INSERT INTO message_events (message_id, status) SELECT id, 'held' FROM held
