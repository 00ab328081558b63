-- Close, as expired, open conversations idle longer than their community allows; a batch at a time. Returns each
-- with its active participants, for the routing table to drop their routes.
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
