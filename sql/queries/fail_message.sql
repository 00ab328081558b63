-- The carrier refused the message, or it ran out of tries: final.
WITH updated AS (
    UPDATE messages SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
    WHERE id = $1 AND status IN ('queued', 'submitting')
    RETURNING id
)
INSERT INTO message_events (message_id, status, error_code) SELECT id, 'failed', $2 FROM updated
