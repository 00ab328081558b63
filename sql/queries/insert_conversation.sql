-- A new open pair with its two participant rows (the prospect first), and its conversation.opened event where
-- the community has somewhere to send it.
WITH opened AS (
    INSERT INTO conversations (community_id, proxy_number, prospect_id, advocate_id, code)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING id, community_id, proxy_number, code, prospect_id, advocate_id
), people AS (
    INSERT INTO conversation_participants (conversation_id, participant_id, role)
    SELECT o.id, side.participant_id, side.role
    FROM opened o, (VALUES (1, $3::bigint, 'prospect'), (2, $4::bigint, 'advocate')) side (n, participant_id, role)
    ORDER BY side.n
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
