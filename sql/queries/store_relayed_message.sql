-- One statement, so all or nothing: the inbound message, its relayed copy (queued) and the activity time.
-- $1 conversation, $2 sender, $3 proxy number, $4 body, $5 media urls, $6 carrier sid, $7 recipient, $8 relayed body.
-- conversation_id is null when the conversation is no longer open; inbound_id is null for a carrier retry.
-- The relayed copy is "blocked" (with the reason) when outbound_block_reason says it must not be sent.
WITH conversation AS (
    UPDATE conversations SET last_activity_at = now()
    WHERE id = $1 AND status = 'open'
    RETURNING id, community_id
), inbound AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, from_number, to_number, body,
                          media_urls, carrier_sid, status)
    SELECT community_id, id, 'inbound', 'inbound', $2, $3, $4, $5, $6, 'received' FROM conversation
    ON CONFLICT (carrier_sid) DO NOTHING
    RETURNING id, community_id, conversation_id
), outbound AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, priority, from_number, to_number,
                          body, status, status_reason)
    SELECT community_id, conversation_id, 'outbound', 'relay', 'relay', $3, $7, $8,
           CASE WHEN block.reason IS NULL THEN 'queued' ELSE 'blocked' END, block.reason
    FROM inbound, LATERAL (SELECT outbound_block_reason(inbound.community_id, $7) AS reason) block
    RETURNING id, status, status_reason
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM outbound
)
SELECT (SELECT id FROM conversation) AS conversation_id,
       (SELECT id FROM inbound) AS inbound_id,
       (SELECT id FROM outbound) AS outbound_id,
       (SELECT status FROM outbound) AS outbound_status,
       (SELECT status_reason FROM outbound) AS outbound_reason
