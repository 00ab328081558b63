-- The carrier refused the message, or it ran out of tries: final. (By id alone, then checked: see begin_send.)
WITH target AS MATERIALIZED (
    SELECT id, status FROM messages WHERE id = $1 FOR UPDATE
), updated AS (
    UPDATE messages m SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
    FROM target t
    WHERE m.id = t.id AND t.status IN ('queued', 'submitting')
    RETURNING m.id
)
INSERT INTO message_events (message_id, status, error_code) SELECT id, 'failed', $2 FROM updated
