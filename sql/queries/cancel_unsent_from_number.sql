-- A number leaves its community: what still waits to go from it (queued or held) never will; canceled, with
-- the reason $2 (a send already at the carrier, "submitting", goes on), each a message.status_changed event
-- (status canceled) where the community has somewhere to send it. Returns how many. The rows are locked in id
-- order, as the send batches lock theirs, so the two never wait on each other in a cycle; FOR UPDATE, not FOR NO
-- KEY UPDATE: a row a CTE locks FOR NO KEY UPDATE and the UPDATE then changes could deadlock against another
-- waiter while a status event's insert held it FOR KEY SHARE (tests/test_row_locks.py).
WITH target AS (
    SELECT id FROM messages
    WHERE from_number = $1 AND direction = 'outbound' AND status IN ('queued', 'held')
    ORDER BY id
    FOR UPDATE
), canceled AS (
    UPDATE messages m SET status = 'canceled', status_reason = $2, updated_at = now()
    FROM target t
    WHERE m.id = t.id
    RETURNING m.id, m.community_id, m.conversation_id, m.kind, m.to_number, m.carrier_sid
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'message.status_changed', status_changed_event(
               c.community_id, c.conversation_id, c.id, c.kind, c.to_number, 'canceled', NULL, c.carrier_sid)
    FROM canceled c, event_targets(c.community_id, 'message.status_changed') t
    WHERE c.community_id IS NOT NULL
)
SELECT count(*) FROM canceled
