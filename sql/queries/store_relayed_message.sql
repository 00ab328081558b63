-- One statement, so all or nothing: the inbound message, its relayed copy (queued) and the activity time.
-- $1 conversation, $2 sender, $3 proxy number, $4 body, $5 media urls, $6 carrier sid, $7 recipient, $8 relayed body,
-- $9 the inbound body's segments, $10 the relayed body's.
-- conversation_id is null when the conversation is no longer open; inbound_id is null for a carrier retry.
-- The relayed copy is "blocked" (with the reason) when outbound_block_reason says it must not be sent.
WITH conversation AS (
    UPDATE conversations SET last_activity_at = now()
    WHERE id = $1 AND status = 'open'
    RETURNING id, community_id
), inbound AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, from_number, to_number, body,
                          media_urls, carrier_sid, status, segments)
    SELECT community_id, id, 'inbound', 'inbound', $2, $3, $4, $5, $6, 'received', $9 FROM conversation
    ON CONFLICT (carrier_sid) DO NOTHING
    RETURNING id, community_id, conversation_id
), outbound AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, priority, from_number, to_number,
                          body, status, status_reason, segments)
    SELECT community_id, conversation_id, 'outbound', 'relay', 'relay', $3, $7, $8,
           CASE WHEN block.reason IS NULL THEN 'queued' ELSE 'blocked' END, block.reason, $10
    FROM inbound, LATERAL (SELECT outbound_block_reason(inbound.community_id, $7, 'relay') AS reason) block
    RETURNING id, status, status_reason
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM outbound
), contact AS (
    -- The sender has messaged the community: it needs no sender identification from us.
    INSERT INTO contacts (community_id, phone, first_inbound_at)
    SELECT community_id, $2, now() FROM inbound
    ON CONFLICT (community_id, phone) DO UPDATE SET first_inbound_at = now()
    WHERE contacts.first_inbound_at IS NULL
)
SELECT (SELECT id FROM conversation) AS conversation_id,
       (SELECT id FROM inbound) AS inbound_id,
       (SELECT id FROM outbound) AS outbound_id,
       (SELECT status FROM outbound) AS outbound_status,
       (SELECT status_reason FROM outbound) AS outbound_reason
