-- An outbound message written by us (notification, relay from the web site, verification code), with its
-- first event: "queued", or "blocked" with the reason when outbound_block says it must not be sent.
-- $1 community, $2 conversation, $3 kind, $4 priority, $5 from, $6 to, $7 body, $8 segments.
WITH message AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, priority, from_number, to_number,
                          body, status, status_reason, segments)
    SELECT $1, $2, 'outbound', $3, $4, $5, $6, $7,
           CASE WHEN block.reason IS NULL THEN 'queued' ELSE 'blocked' END, block.reason, $8
    FROM (SELECT (SELECT b.reason FROM outbound_block($1, $6, $3, NULL::text) b) AS reason) block
    RETURNING id, status, status_reason, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM message
)
SELECT id, status, status_reason, segments FROM message
