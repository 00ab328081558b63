-- A phone is erased from its community: the open conversations it takes part in (as any participant, left or
-- not) close with the reason $3, each with its conversation.closed event where the community has somewhere to
-- send it (as close_conversation.sql); returns what the routing table needs to drop their routes.
WITH mine AS (
    SELECT DISTINCT cp.conversation_id
    FROM participants p JOIN conversation_participants cp ON cp.participant_id = p.id
    WHERE p.community_id = $1 AND p.phone = $2
), closed AS (
    UPDATE conversations c SET status = 'closed', closed_at = now(), closed_reason = $3
    FROM mine m
    WHERE c.id = m.conversation_id AND c.status = 'open'
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
