-- A WhatsApp message from $2 to our number $1: their channel with the number is WhatsApp, their 24-hour window
-- opens (or renews), the template may be sent again the next time it closes, and their texts held for the window
-- (or for an opt-in: writing is one) go back to the queue, oldest first.
WITH contact AS (
    INSERT INTO whatsapp_contacts (proxy_number, phone, channel, last_inbound_at)
    VALUES ($1, $2, 'whatsapp', now())
    ON CONFLICT (proxy_number, phone) DO UPDATE
    SET channel = 'whatsapp', last_inbound_at = now(), template_sent_at = NULL, updated_at = now()
), released AS (
    UPDATE messages
    SET status = 'queued', status_reason = NULL, updated_at = now()
    WHERE from_number = $1 AND to_number = $2 AND status = 'held'
      AND status_reason IN ('whatsapp_window', 'whatsapp_opt_in')
    RETURNING id, priority, from_number, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM released
)
SELECT id, priority, from_number, segments FROM released ORDER BY id
