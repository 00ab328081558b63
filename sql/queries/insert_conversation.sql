-- A new open conversation, and its conversation.opened event where the community has somewhere to send it.
WITH opened AS (
    INSERT INTO conversations (community_id, proxy_number, prospect_id, advocate_id, code)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING id, community_id, proxy_number, code, prospect_id, advocate_id
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT o.community_id, t.url, t.target, 'conversation.opened', event_body('conversation.opened',
               jsonb_build_object('community_id', o.community_id, 'conversation_id', o.id, 'number', o.proxy_number,
                                  'code', o.code,
                                  'prospect_phone', (SELECT phone FROM participants WHERE id = o.prospect_id),
                                  'advocate_phone', (SELECT phone FROM participants WHERE id = o.advocate_id)))
    FROM opened o, event_targets(o.community_id, 'conversation.opened') t
)
SELECT id FROM opened
