-- Over a limit at send time: the message waits as held, with the reason $2 and its $3 segments (the sender
-- identification may have added one); that try does not count.
-- (By id alone, then checked: see begin_send.)
WITH target AS MATERIALIZED (
    SELECT id, status FROM messages WHERE id = $1 FOR UPDATE
), held AS (
    UPDATE messages m SET status = 'held', status_reason = $2, attempts = m.attempts - 1, segments = $3,
        updated_at = now()
    FROM target t
    WHERE m.id = t.id AND t.status = 'submitting'
    RETURNING m.id, m.community_id, m.conversation_id, m.to_number, m.kind
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT h.community_id, t.url, t.target, 'message.held', event_body('message.held', jsonb_build_object(
               'community_id', h.community_id, 'conversation_id', h.conversation_id, 'message_id', h.id,
               'kind', h.kind, 'to', h.to_number, 'status', 'held', 'reason', $2::text))
    FROM held h, event_targets(h.community_id, 'message.held') t
    WHERE h.community_id IS NOT NULL
)
INSERT INTO message_events (message_id, status) SELECT id, 'held' FROM held
