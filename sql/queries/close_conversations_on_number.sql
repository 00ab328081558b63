-- A number leaves its community: its open conversations close, with the reason $2, each with its
-- conversation.closed event where the community has somewhere to send it (as close_conversation.sql); returns
-- what the routing table needs to drop their routes (each with its active participants).
WITH closed AS (
    UPDATE conversations c SET status = 'closed', closed_at = now(), closed_reason = $2
    WHERE c.proxy_number = $1 AND c.status = 'open'
    RETURNING c.id, c.community_id, c.closed_reason, c.proxy_number, c.code, c.shape
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'conversation.closed', event_body('conversation.closed',
               jsonb_build_object('community_id', c.community_id, 'conversation_id', c.id, 'reason', c.closed_reason))
    FROM closed c, event_targets(c.community_id, 'conversation.closed') t
)
SELECT c.id, c.proxy_number, c.code, c.shape, people.phones, people.names, people.roles
FROM closed c
CROSS JOIN LATERAL active_participants(c.id) people
