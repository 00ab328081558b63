-- A new open conversation of several (shape $3: one_to_group or group; team style $4, null for a group) with its
-- participants $5 (ids, in order; the first two also fill prospect_id and advocate_id, migration 0020) and their
-- roles $6, and its conversation.opened event where the community has somewhere to send it. $8: the team whose
-- inbox it is (null: none; migration 0022).
WITH opened AS (
    INSERT INTO conversations (community_id, proxy_number, shape, team_style, prospect_id, advocate_id, code,
                               team_id)
    VALUES ($1, $2, $3, $4, ($5::bigint[])[1], ($5::bigint[])[2], $7, $8)
    RETURNING id, community_id, proxy_number, code, shape
), people AS (
    INSERT INTO conversation_participants (conversation_id, participant_id, role)
    SELECT o.id, person.participant_id, person.role
    FROM opened o, unnest($5::bigint[], $6::text[]) WITH ORDINALITY AS person (participant_id, role, n)
    ORDER BY person.n
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT o.community_id, t.url, t.target, 'conversation.opened', event_body('conversation.opened',
               jsonb_build_object('community_id', o.community_id, 'conversation_id', o.id, 'number', o.proxy_number,
                                  'code', o.code, 'shape', o.shape, 'team_id', $8::bigint,
                                  'participants', (SELECT jsonb_agg(p.phone ORDER BY n.n)
                                                   FROM unnest($5::bigint[]) WITH ORDINALITY AS n (id, n)
                                                   JOIN participants p ON p.id = n.id)))
    FROM opened o, event_targets(o.community_id, 'conversation.opened') t
)
SELECT id FROM opened
