-- Close, as expired, open conversations idle longer than their community allows; a batch at a time. Returns each
-- with its active participants, for the routing table to drop their routes. Its copies held for their pictures or
-- a WhatsApp participant's answer are canceled (conversation_expired), as closing cancels them.
WITH idle AS (
    SELECT c.id FROM conversations c
    JOIN communities m ON m.id = c.community_id
    WHERE c.status = 'open' AND c.last_activity_at < now() - make_interval(days => m.inactivity_days)
    ORDER BY c.last_activity_at
    LIMIT $1
    FOR NO KEY UPDATE OF c SKIP LOCKED
), expired AS (
    UPDATE conversations c SET status = 'expired', closed_at = now(), closed_reason = 'inactive'
    FROM idle
    WHERE c.id = idle.id
    RETURNING c.id, c.community_id, c.proxy_number, c.code, c.shape
), canceled AS (
    -- Its copies waiting for something that would only send them after it ended: their text's pictures
    -- (awaiting_media: the fetch then releases nothing) or a WhatsApp participant's answer or opt-in (their next
    -- message would release them into a conversation that is over). Queued ones still go: decided before it ended.
    UPDATE messages m SET status = 'canceled', status_reason = 'conversation_expired', updated_at = now()
    FROM expired c
    WHERE m.conversation_id = c.id AND m.status = 'held'
      AND m.status_reason IN ('awaiting_media', 'whatsapp_window', 'whatsapp_opt_in')
    RETURNING m.id, m.community_id, m.conversation_id, m.kind, m.to_number, m.carrier_sid
), canceled_events AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
), canceled_hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT m.community_id, t.url, t.target, 'message.status_changed', status_changed_event(
               m.community_id, m.conversation_id, m.id, m.kind, m.to_number, 'canceled', NULL, m.carrier_sid)
    FROM canceled m, event_targets(m.community_id, 'message.status_changed') t
), hooks AS (
    -- conversation.expired, where the community has somewhere to send it.
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT e.community_id, t.url, t.target, 'conversation.expired', event_body('conversation.expired',
               jsonb_build_object('community_id', e.community_id, 'conversation_id', e.id, 'reason', 'inactive'))
    FROM expired e, event_targets(e.community_id, 'conversation.expired') t
)
SELECT e.id, e.proxy_number, e.code, e.shape, people.phones, people.names, people.roles
FROM expired e
CROSS JOIN LATERAL active_participants(e.id) people
