-- Held messages that will never go: canceled, each a message.status_changed event (status canceled) where the
-- community has somewhere to send it. $1 community, $2 reason, $3 ids (null: all of them).
WITH canceled AS (
    UPDATE messages SET status = 'canceled', updated_at = now()
    WHERE community_id = $1 AND waiting = 'held' AND status_reason = $2 AND ($3::bigint[] IS NULL OR id = ANY($3))
    RETURNING id, community_id, conversation_id, kind, to_number, carrier_sid
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'message.status_changed', status_changed_event(
               c.community_id, c.conversation_id, c.id, c.kind, c.to_number, 'canceled', NULL, c.carrier_sid)
    FROM canceled c, event_targets(c.community_id, 'message.status_changed') t
)
SELECT id FROM canceled ORDER BY id
