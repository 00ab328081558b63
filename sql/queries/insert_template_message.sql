-- A triggered send's message (an approved template rendered for one phone) with its first event: "queued", or
-- "blocked" with the reason when outbound_block says it must not be sent (opted out of the category, DND,
-- test mode).
-- $1 community, $2 kind, $3 priority, $4 from, $5 to, $6 body, $7 segments, $8 template, $9 category.
WITH message AS (
    INSERT INTO messages (community_id, direction, kind, priority, from_number, to_number, body, status,
                          status_reason, segments, template_id, category)
    SELECT $1, 'outbound', $2, $3, $4, $5, $6,
           CASE WHEN block.reason IS NULL THEN 'queued' ELSE 'blocked' END, block.reason, $7, $8, $9
    FROM (SELECT (SELECT b.reason FROM outbound_block($1, $5, $2, $9) b) AS reason) block
    RETURNING id, status, status_reason, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM message
)
SELECT id, status, status_reason, segments FROM message
