-- Ending conversations, in one place for every statement that ends them (close_conversation.sql,
-- expire_idle_conversations.sql, close_conversations_of_phone.sql, close_conversations_on_number.sql): each picks
-- its conversations, this ends them. The open ones among ids become `ended` ('closed' or 'expired') with the reason;
-- each is a conversation.closed or conversation.expired event where the community has somewhere to send it. Returns
-- each one ended with its active participants: what the routing table needs to drop its routes.
--
-- Their copies waiting for something that would only send them after it ended are canceled, each with its
-- message.status_changed event: their text's pictures (awaiting_media: the fetch then releases nothing) or a
-- WhatsApp participant's answer or opt-in (their next message would release them into a conversation that is over).
-- Queued ones still go: decided before it ended. The reasons are literals: tests/test_vocabulary.py reads them.
CREATE FUNCTION end_conversations(ids bigint[], ended text, reason text)
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
        WHERE m.conversation_id = c.id AND m.status = 'held'
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

-- A retention walk's next run of messages (retention_marks, by the walk's name: 'bodies' or 'rows'), for
-- redact_old_messages.sql and delete_old_messages.sql: up to `batch` messages after the walk's mark, as far as they
-- are older than `days`: the run stops at the chunk's first young one (ids follow time). It only reads, in the
-- caller's snapshot (STABLE): the caller moves the mark past what it returned, in the same statement.
CREATE FUNCTION retention_run(walk text, days integer, batch integer) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    WITH chunk AS (
        SELECT m.id, m.created_at FROM messages m
        WHERE m.id > coalesce((SELECT r.last_id FROM retention_marks r WHERE r.name = walk), 0)
        ORDER BY m.id
        LIMIT batch
    )
    SELECT chunk.id FROM chunk
    WHERE chunk.id < coalesce((SELECT min(y.id) FROM chunk y
                               WHERE y.created_at >= now() - make_interval(days => retention_run.days)),
                              9223372036854775807)
$$;
