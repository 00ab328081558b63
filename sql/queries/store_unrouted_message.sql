-- An inbound message with no open conversation, and the auto-reply if this sender has had none today.
-- $1 sender, $2 proxy number, $3 body, $4 media urls, $5 carrier sid, $6 auto-reply text ('' for none).
-- inbound_id is null for a carrier retry; reply_id is null when no reply is due.
WITH inbound AS (
    INSERT INTO messages (community_id, direction, kind, from_number, to_number, body, media_urls,
                          carrier_sid, status)
    VALUES ((SELECT community_id FROM community_numbers WHERE phone = $2), 'inbound', 'inbound', $1, $2, $3,
            $4, $5, 'received')
    ON CONFLICT (carrier_sid) DO NOTHING
    RETURNING id, community_id
), reply_due AS (
    INSERT INTO auto_replies (proxy_number, sender, day)
    SELECT $2, $1, (now() AT TIME ZONE 'UTC')::date FROM inbound
    WHERE inbound.community_id IS NOT NULL AND $6 <> ''
    ON CONFLICT DO NOTHING
    RETURNING 1
), reply AS (
    INSERT INTO messages (community_id, direction, kind, priority, from_number, to_number, body, status)
    SELECT inbound.community_id, 'outbound', 'auto_reply', 'bulk', $2, $1, $6, 'queued' FROM inbound, reply_due
    RETURNING id
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM reply
)
SELECT (SELECT id FROM inbound) AS inbound_id, (SELECT id FROM reply) AS reply_id
