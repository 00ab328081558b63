-- Close an open conversation, with its conversation.closed event where the community has somewhere to send it.
WITH closed AS (
    UPDATE conversations SET status = 'closed', closed_at = now(), closed_reason = $2
    WHERE id = $1 AND status = 'open'
    RETURNING id, community_id, closed_reason
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'conversation.closed', event_body('conversation.closed',
               jsonb_build_object('community_id', c.community_id, 'conversation_id', c.id, 'reason', c.closed_reason))
    FROM closed c, event_targets(c.community_id, 'conversation.closed') t
)
SELECT id FROM closed
