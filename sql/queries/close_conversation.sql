-- Close an open conversation, with its conversation.closed event where the community has somewhere to send it; its
-- copies held for their pictures or a WhatsApp participant's answer are canceled (conversation_closed).
WITH closed AS (
    UPDATE conversations SET status = 'closed', closed_at = now(), closed_reason = $2
    WHERE id = $1 AND status = 'open'
    RETURNING id, community_id, closed_reason
), canceled AS (
    -- Its copies waiting for something that would only send them after it ended: their text's pictures
    -- (awaiting_media: the fetch then releases nothing) or a WhatsApp participant's answer or opt-in (their next
    -- message would release them into a conversation that is over). Queued ones still go: decided before it ended.
    UPDATE messages m SET status = 'canceled', status_reason = 'conversation_closed', updated_at = now()
    FROM closed c
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
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'conversation.closed', event_body('conversation.closed',
               jsonb_build_object('community_id', c.community_id, 'conversation_id', c.id, 'reason', c.closed_reason))
    FROM closed c, event_targets(c.community_id, 'conversation.closed') t
)
SELECT id FROM closed
