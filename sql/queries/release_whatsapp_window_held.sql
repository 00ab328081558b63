-- The texts from our number $1 to $2 held for their WhatsApp window (or for an opt-in: writing is one) go back to
-- the queue, oldest first, once their message opened the window (open_whatsapp_window.sql, in the same transaction).
WITH released AS (
    UPDATE messages
    SET status = 'queued', status_reason = NULL, updated_at = now()
    WHERE from_number = $1 AND to_number = $2 AND waiting = 'held'
      AND status_reason IN ('whatsapp_window', 'whatsapp_opt_in')
    RETURNING id, priority, from_number, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM released
)
SELECT id, priority, from_number, segments FROM released ORDER BY id
