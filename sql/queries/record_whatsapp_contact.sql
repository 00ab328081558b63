-- The platform says $2 talks to the community $1 on channel $3 ('sms' or 'whatsapp'), opted in ($4 true) or not
-- said ($4 false: an opt-in recorded before stays): one row for each of the community's numbers. Returns them.
INSERT INTO whatsapp_contacts (proxy_number, phone, channel, opted_in_at)
SELECT n.phone, $2, $3, CASE WHEN $4 THEN now() END
FROM community_numbers n WHERE n.community_id = $1
ON CONFLICT (proxy_number, phone) DO UPDATE
SET channel = excluded.channel, opted_in_at = coalesce(excluded.opted_in_at, whatsapp_contacts.opted_in_at),
    updated_at = now()
RETURNING proxy_number, channel, opted_in_at IS NOT NULL OR last_inbound_at IS NOT NULL AS opted_in,
          whatsapp_window_open(last_inbound_at, window_closed_at) AS window_open
