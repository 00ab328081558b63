-- An inbound message whose code matched none of the sender's conversations, and the help reply.
-- $1 sender, $2 proxy number, $3 body, $4 media urls, $5 carrier sid, $6 help text.
WITH inbound AS (
    INSERT INTO messages (community_id, direction, kind, from_number, to_number, body, media_urls,
                          carrier_sid, status)
    VALUES ((SELECT community_id FROM community_numbers WHERE phone = $2), 'inbound', 'inbound', $1, $2, $3,
            $4, $5, 'received')
    ON CONFLICT (carrier_sid) DO NOTHING
    RETURNING id, community_id
), reply AS (
    INSERT INTO messages (community_id, direction, kind, priority, from_number, to_number, body, status)
    SELECT community_id, 'outbound', 'help', 'relay', $2, $1, $6, 'queued' FROM inbound
    RETURNING id
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM reply
)
SELECT (SELECT id FROM inbound) AS inbound_id, (SELECT id FROM reply) AS reply_id
