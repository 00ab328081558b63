-- A canceled broadcast's messages not yet at the carrier (queued or held) never go: canceled with the reason
-- broadcast_canceled, each a message.status_changed event (status canceled) where the community has somewhere to
-- send it; those at the carrier go on. Locked in id order, FOR UPDATE, as cancel_unsent_from_number.sql does (and
-- why). $1 broadcast. Returns how many.
WITH target AS (
    SELECT id FROM messages
    WHERE broadcast_id = $1 AND waiting IN ('unsent', 'held') AND status IN ('queued', 'held')
    ORDER BY id
    FOR UPDATE
), canceled AS (
    UPDATE messages m SET status = 'canceled', status_reason = 'broadcast_canceled', updated_at = now()
    FROM target t
    WHERE m.id = t.id AND m.status IN ('queued', 'held')
    RETURNING m.id, m.community_id, m.conversation_id, m.kind, m.to_number, m.carrier_sid
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'message.status_changed', status_changed_event(
               c.community_id, c.conversation_id, c.id, c.kind, c.to_number, 'canceled', NULL, c.carrier_sid)
    FROM canceled c, event_targets(c.community_id, 'message.status_changed') t
)
SELECT count(*) FROM canceled
