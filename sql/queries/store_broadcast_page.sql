-- One page of a broadcast, in one statement (and the claim's transaction): each sent recipient's message stored
-- with its first event (queued, or blocked with outbound_block's reason: test mode, opted out, DND) and the
-- recipient marked sent with it; the skipped ones marked with their reasons. A process killed before the commit
-- leaves the whole page pending; after it, the queued messages are queued again by the sweeper. The messages' ids
-- are drawn first (MATERIALIZED: once per row), so each recipient is tied to its own message by id, never by a
-- phone's spelling.
-- $1 broadcast, $2 community, $3 template, $4 category, $5 priority, $6 recipient ids, $7 from, $8 to, $9 bodies,
-- $10 segments (one each per sent recipient, in order), $11 skipped recipient ids, $12 their reasons.
WITH sent AS MATERIALIZED (
    SELECT s.*, nextval(pg_get_serial_sequence('messages', 'id')) AS message_id
    FROM unnest($6::bigint[], $7::text[], $8::text[], $9::text[], $10::int[])
        AS s (recipient_id, from_number, to_number, body, segments)
), message AS (
    INSERT INTO messages (id, community_id, direction, kind, priority, from_number, to_number, body, status,
                          status_reason, segments, template_id, category, broadcast_id)
    SELECT s.message_id, $2, 'outbound', 'broadcast', $5, s.from_number, s.to_number, s.body,
           CASE WHEN block.reason IS NULL THEN 'queued' ELSE 'blocked' END, block.reason, s.segments, $3, $4, $1
    FROM sent s,
         LATERAL (SELECT (SELECT b.reason FROM outbound_block($2, s.to_number, 'broadcast', $4) b) AS reason) block
    RETURNING id, from_number, status, status_reason, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM message
), marked AS (
    UPDATE broadcast_recipients r SET outcome = 'sent', message_id = s.message_id, processed_at = now()
    FROM sent s
    WHERE r.id = s.recipient_id
), skipped AS (
    UPDATE broadcast_recipients r SET outcome = 'skipped', skip_reason = k.reason, processed_at = now()
    FROM unnest($11::bigint[], $12::text[]) k (id, reason)
    WHERE r.id = k.id
)
SELECT id, from_number, status, status_reason, segments FROM message ORDER BY id
