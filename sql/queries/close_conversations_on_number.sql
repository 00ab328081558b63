-- A number leaves its community: its open conversations close, with the reason $2, each with its
-- conversation.closed event where the community has somewhere to send it (as close_conversation.sql); returns
-- what the routing table needs to drop their routes.
WITH closed AS (
    UPDATE conversations c SET status = 'closed', closed_at = now(), closed_reason = $2
    FROM participants p, participants a
    WHERE c.proxy_number = $1 AND c.status = 'open' AND p.id = c.prospect_id AND a.id = c.advocate_id
    RETURNING c.id, c.community_id, c.closed_reason, c.proxy_number, c.code, p.phone AS prospect_phone,
              p.name AS prospect_name, a.phone AS advocate_phone, a.name AS advocate_name
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'conversation.closed', event_body('conversation.closed',
               jsonb_build_object('community_id', c.community_id, 'conversation_id', c.id, 'reason', c.closed_reason))
    FROM closed c, event_targets(c.community_id, 'conversation.closed') t
)
SELECT id, proxy_number, code, prospect_phone, prospect_name, advocate_phone, advocate_name FROM closed
