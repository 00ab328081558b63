-- The copies of an inbound text ($1) held until its attachments were fetched (awaiting_media), once none is
-- pending: queued, or held for the community's intercept URL (intercepting, with its callback) if it has one;
-- canceled (media_refused) when the text was only pictures and none was kept (nothing is left to relay).
WITH inbound AS (
    SELECT m.id, m.community_id, m.conversation_id, c.intercept_url,
           btrim(m.body) = '' AND NOT EXISTS (
               SELECT 1 FROM message_media WHERE message_id = m.id AND state = 'stored') AS nothing_left
    FROM messages m LEFT JOIN communities c ON c.id = m.community_id
    WHERE m.id = $1 AND NOT EXISTS (SELECT 1 FROM message_media WHERE message_id = m.id AND state = 'pending')
), released AS (
    UPDATE messages o
    SET status = CASE WHEN i.nothing_left THEN 'canceled' WHEN i.intercept_url IS NOT NULL THEN 'held'
                      ELSE 'queued' END,
        status_reason = CASE WHEN i.nothing_left THEN 'media_refused' WHEN i.intercept_url IS NOT NULL
                             THEN 'intercepting' END,
        updated_at = now()
    FROM inbound i
    WHERE o.media_from = i.id AND o.status = 'held' AND o.status_reason = 'awaiting_media'
    RETURNING o.id, o.status, o.status_reason, o.priority, o.from_number, o.to_number, o.conversation_id, o.segments
), intercept AS (
    INSERT INTO platform_callbacks (kind, message_id, community_id, conversation_id, part_ids, url)
    SELECT 'intercept', i.id, i.community_id, i.conversation_id, held.ids, i.intercept_url
    FROM inbound i, (SELECT array_agg(id ORDER BY id) AS ids FROM released WHERE status = 'held') held
    WHERE held.ids IS NOT NULL
    RETURNING id
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM released
)
SELECT r.id, r.status, r.status_reason, r.priority, r.from_number, r.to_number, r.conversation_id, r.segments,
       (SELECT id FROM intercept) AS intercept_id
FROM released r ORDER BY r.id
