-- A WhatsApp message from $2 to our number $1: their channel with the number is WhatsApp, their 24-hour window
-- opens (or renews), and the template may be sent again the next time it closes. Then (release_whatsapp_window_held
-- .sql, the next statement of the same transaction) the texts held for it go back to the queue: a send deciding to
-- hold one holds this row FOR SHARE (begin_send.sql), so this waits for it, and the next statement sees it held.
INSERT INTO whatsapp_contacts (proxy_number, phone, channel, last_inbound_at)
VALUES ($1, $2, 'whatsapp', now())
ON CONFLICT (proxy_number, phone) DO UPDATE
SET channel = 'whatsapp', last_inbound_at = now(), template_sent_at = NULL, updated_at = now()
