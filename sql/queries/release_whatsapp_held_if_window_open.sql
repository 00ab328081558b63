-- The window of $2 with our number $1 is open now, though a text to them was just held for it, or their template
-- was found unneeded: their answer's release (open_whatsapp_window.sql) read the messages before that hold was
-- committed, while the hold read the window before the answer opened it. Their texts held for the window go back
-- to the queue (oldest first); nothing when the window is closed.
WITH released AS (
    UPDATE messages
    SET status = 'queued', status_reason = NULL, updated_at = now()
    WHERE from_number = $1 AND to_number = $2 AND waiting = 'held' AND status_reason = 'whatsapp_window'
      AND EXISTS (SELECT 1 FROM whatsapp_contacts w
                  WHERE w.proxy_number = $1 AND w.phone = $2 AND w.channel = 'whatsapp'
                    AND whatsapp_window_open(w.last_inbound_at, w.window_closed_at))
    RETURNING id, priority, from_number, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM released
)
SELECT id, priority, from_number, segments FROM released ORDER BY id
