-- An outbound message written by us (notification, relay from the web site), queued, with its first event.
-- $1 community, $2 conversation, $3 kind, $4 priority, $5 from, $6 to, $7 body.
WITH message AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, priority, from_number, to_number,
                          body, status)
    VALUES ($1, $2, 'outbound', $3, $4, $5, $6, $7, 'queued')
    RETURNING id
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM message
)
SELECT id FROM message
