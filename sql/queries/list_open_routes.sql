-- Open conversations with their active participants (in the order they joined: a pair's prospect first), a page at
-- a time (keyset on id), to rebuild the routing table.
SELECT c.id, c.proxy_number, c.code, c.shape, people.phones, people.names, people.roles, c.team_style,
       (SELECT phone FROM participants WHERE id = c.claimed_by) AS claimed_by
FROM conversations c
CROSS JOIN LATERAL active_participants(c.id) people
WHERE c.status = 'open' AND c.id > $1
ORDER BY c.id
LIMIT $2
