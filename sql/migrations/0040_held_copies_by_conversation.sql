-- Ending a conversation cancels its held copies (end_conversations, migration 0038), and found them through the
-- conversation's messages (messages_conversation): every message it ever had, read to find the few held ones. At
-- 100 million rows, 100 a conversation, an expiry batch of 1,000 conversations took 1.3 s (35 ms at 10 million;
-- bench/growth.py). The held ones now come from an index of held messages by conversation, the size of the held
-- set: `waiting` already marks them (migration 0037), and it changes only when a message enters or leaves it.
CREATE INDEX messages_held_conversation ON messages (conversation_id) WHERE waiting = 'held';

CREATE OR REPLACE FUNCTION end_conversations(ids bigint[], ended text, reason text)
    RETURNS TABLE (id bigint, proxy_number text, code text, shape text, phones text[], names text[], roles text[])
LANGUAGE sql AS $$
    WITH gone AS (
        UPDATE conversations c SET status = ended, closed_at = now(), closed_reason = reason
        WHERE c.id = ANY (ids) AND c.status = 'open'
        RETURNING c.id, c.community_id, c.closed_reason, c.proxy_number, c.code, c.shape,
                  CASE c.status WHEN 'closed' THEN 'conversation.closed' WHEN 'expired' THEN 'conversation.expired'
                  END AS event
    ), canceled AS (
        UPDATE messages m SET status = 'canceled', updated_at = now(),
            status_reason = CASE ended WHEN 'closed' THEN 'conversation_closed' WHEN 'expired' THEN 'conversation_expired' END
        FROM gone c
        WHERE m.conversation_id = c.id AND m.waiting = 'held' AND m.status = 'held'
          AND m.status_reason IN ('awaiting_media', 'whatsapp_window', 'whatsapp_opt_in')
        RETURNING m.id, m.community_id, m.conversation_id, m.kind, m.to_number, m.carrier_sid
    ), canceled_events AS (
        INSERT INTO message_events (message_id, status) SELECT m.id, 'canceled' FROM canceled m
    ), canceled_hooks AS (
        INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
        SELECT m.community_id, t.url, t.target, 'message.status_changed', status_changed_event(
                   m.community_id, m.conversation_id, m.id, m.kind, m.to_number, 'canceled', NULL, m.carrier_sid)
        FROM canceled m, event_targets(m.community_id, 'message.status_changed') t
    ), hooks AS (
        INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
        SELECT c.community_id, t.url, t.target, c.event, event_body(c.event, jsonb_build_object(
                   'community_id', c.community_id, 'conversation_id', c.id, 'reason', c.closed_reason))
        FROM gone c, event_targets(c.community_id, c.event) t
    )
    SELECT c.id, c.proxy_number, c.code, c.shape, people.phones, people.names, people.roles
    FROM gone c
    CROSS JOIN LATERAL active_participants(c.id) people
$$;
