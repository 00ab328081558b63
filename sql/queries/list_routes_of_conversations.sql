-- These conversations, those still open, with their active participants (as list_open_routes.sql has them): to
-- write again the routes of conversations whose participants changed during a rebuild.
SELECT c.id, c.proxy_number, c.code, c.shape, people.phones, people.names, people.roles, c.team_style,
       (SELECT phone FROM participants WHERE id = c.claimed_by) AS claimed_by
FROM conversations c
CROSS JOIN LATERAL active_participants(c.id) people
WHERE c.id = ANY($1::bigint[]) AND c.status = 'open'
ORDER BY c.id
