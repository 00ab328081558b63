-- An inbound message that is not relayed (no open conversation, or an unknown code), with our reply.
-- $1 sender, $2 proxy number, $3 body, $4 media urls, $5 carrier sid, $6 reply text ('' for none),
-- $7 reply kind: 'auto_reply' goes out at most once per sender, number and UTC day; 'help' every time.
-- $8 reply priority, $9 the inbound body's segments, $10 the reply's.
-- inbound_id is null for a carrier retry; reply_id is null when no reply is due. When the community has an
-- out-of-session URL, a text that would get the auto-reply gets none: a callback tells that URL of it instead
-- (callback_id; gateway/platform/out_of_session.py).
WITH inbound AS (
    INSERT INTO messages (community_id, direction, kind, from_number, to_number, body, media_urls,
                          carrier_sid, status, segments)
    VALUES ((SELECT community_id FROM community_numbers WHERE phone = $2), 'inbound', 'inbound', $1, $2, $3,
            $4, $5, 'received', $9)
    ON CONFLICT (carrier_sid) DO NOTHING
    RETURNING id, community_id
), out_of_session AS (
    INSERT INTO platform_callbacks (kind, message_id, community_id, url)
    SELECT 'out_of_session', inbound.id, inbound.community_id, c.out_of_session_url
    FROM inbound JOIN communities c ON c.id = inbound.community_id
    WHERE $7 = 'auto_reply' AND c.out_of_session_url IS NOT NULL
    RETURNING id
), reply_allowed AS (
    -- Only a number we own can answer; an auto-reply only if none went to this sender today.
    SELECT inbound.community_id FROM inbound
    WHERE inbound.community_id IS NOT NULL AND $6 <> ''
      AND NOT ($7 = 'auto_reply' AND EXISTS (SELECT 1 FROM out_of_session))
), once_a_day AS (
    INSERT INTO auto_replies (proxy_number, sender, day)
    SELECT $2, $1, (now() AT TIME ZONE 'UTC')::date FROM reply_allowed WHERE $7 = 'auto_reply'
    ON CONFLICT DO NOTHING
    RETURNING 1
), reply AS (
    INSERT INTO messages (community_id, direction, kind, priority, from_number, to_number, body, status,
                          status_reason, segments)
    SELECT community_id, 'outbound', $7, $8, $2, $1, $6,
           CASE WHEN block.reason IS NULL THEN 'queued' ELSE 'blocked' END, block.reason, $10
    FROM reply_allowed,
         LATERAL (SELECT (SELECT b.reason FROM outbound_block(reply_allowed.community_id, $1, $7, NULL::text) b)
                  AS reason) block
    WHERE $7 <> 'auto_reply' OR EXISTS (SELECT 1 FROM once_a_day)
    RETURNING id, status, status_reason
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM reply
), contact AS (
    INSERT INTO contacts (community_id, phone, first_inbound_at)
    SELECT community_id, $1, now() FROM inbound WHERE community_id IS NOT NULL
    ON CONFLICT (community_id, phone) DO UPDATE SET first_inbound_at = now()
    WHERE contacts.first_inbound_at IS NULL
)
SELECT (SELECT id FROM inbound) AS inbound_id, (SELECT id FROM reply) AS reply_id,
       (SELECT status FROM reply) AS reply_status, (SELECT status_reason FROM reply) AS reply_reason,
       (SELECT id FROM out_of_session) AS callback_id
