-- Finish a callback, once: $1 id, $2 outcome, $3 the status its parts still held with reason intercepting get
-- ('queued', 'blocked', 'held' or 'canceled'), $4 their status_reason, $5 the last error (null: keep it).
-- finished is false when it was finished already (by another process): nothing changed. The parts changed come
-- back in id order. Each part changed is an event where the community sends them: message.relayed (queued: the
-- intercept let it through), message.blocked (reason intercepted) or message.held (intercept_unanswered), with
-- the intercept's outcome; canceled parts (a rewrite) are none: the parts stored instead are the relayed ones.
WITH callback AS (
    UPDATE platform_callbacks SET outcome = $2, finished_at = now(), last_error = coalesce($5, last_error)
    WHERE id = $1 AND outcome IS NULL
    RETURNING message_id, part_ids
), parts AS (
    UPDATE messages m SET status = $3, status_reason = $4, updated_at = now()
    FROM callback
    WHERE m.id = ANY (callback.part_ids) AND m.status = 'held' AND m.status_reason = 'intercepting'
    RETURNING m.id, m.priority, m.from_number, m.to_number, m.conversation_id, m.segments, m.community_id, m.body
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, $3 FROM parts
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT p.community_id, t.url, t.target, e.type, event_body(e.type, jsonb_build_object(
               'community_id', p.community_id, 'conversation_id', p.conversation_id, 'message_id', p.id,
               'inbound_message_id', callback.message_id, 'from', p.from_number, 'to', p.to_number, 'body', p.body,
               'status', $3::text, 'reason', $4::text, 'intercept', $2::text))
    FROM callback, parts p,
         LATERAL (SELECT CASE $3::text WHEN 'queued' THEN 'message.relayed' WHEN 'blocked' THEN 'message.blocked'
                                       WHEN 'held' THEN 'message.held' END) e (type),
         event_targets(p.community_id, e.type) t
    WHERE e.type IS NOT NULL
)
SELECT EXISTS (SELECT 1 FROM callback) AS finished,
       coalesce((SELECT array_agg(id ORDER BY id) FROM parts), '{}') AS ids,
       coalesce((SELECT array_agg(priority ORDER BY id) FROM parts), '{}') AS priorities,
       coalesce((SELECT array_agg(from_number ORDER BY id) FROM parts), '{}') AS from_numbers,
       coalesce((SELECT array_agg(to_number ORDER BY id) FROM parts), '{}') AS to_numbers,
       coalesce((SELECT array_agg(conversation_id ORDER BY id) FROM parts), '{}') AS conversation_ids,
       coalesce((SELECT array_agg(segments ORDER BY id) FROM parts), '{}') AS segments
