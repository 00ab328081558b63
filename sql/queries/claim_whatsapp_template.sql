-- Whether this process is the one to send the re-engagement template to $2 on our number $1 now: once per closed
-- window (open_whatsapp_window.sql clears the mark when they write), and only to one who wrote or opted in, while
-- the window is closed (read again under the row lock: an answer that opened it meanwhile is seen).
-- Returns the community's template ($3) when claimed, else no row. The row lock makes one process win.
UPDATE whatsapp_contacts w SET template_sent_at = now(), updated_at = now()
FROM communities c
WHERE w.proxy_number = $1 AND w.phone = $2 AND w.channel = 'whatsapp' AND w.template_sent_at IS NULL
  AND (w.opted_in_at IS NOT NULL OR w.last_inbound_at IS NOT NULL)
  AND NOT whatsapp_window_open(w.last_inbound_at, w.window_closed_at)
  AND c.id = $3 AND c.whatsapp_template IS NOT NULL
RETURNING c.whatsapp_template
