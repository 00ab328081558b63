-- These conversations, those still open, with their active participants (as list_open_routes.sql has them): to
-- write again the routes of conversations whose participants changed during a rebuild.
SELECT c.id, c.proxy_number, c.code, c.shape, people.phones, people.names, people.roles, c.team_style,
       (SELECT phone FROM participants WHERE id = c.claimed_by) AS claimed_by
FROM conversations c
CROSS JOIN LATERAL (
    SELECT array_agg(p.phone ORDER BY cp.seq) AS phones, array_agg(p.name ORDER BY cp.seq) AS names,
           array_agg(cp.role ORDER BY cp.seq) AS roles
    FROM conversation_participants cp JOIN participants p ON p.id = cp.participant_id
    WHERE cp.conversation_id = c.id AND cp.left_at IS NULL
) people
WHERE c.id = ANY($1::bigint[]) AND c.status = 'open'
ORDER BY c.id
