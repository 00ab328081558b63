-- A number leaves its community: its open conversations close, with the reason $2; returns what the routing
-- table needs to drop their routes (each with its active participants).
WITH closed AS (
    UPDATE conversations c SET status = 'closed', closed_at = now(), closed_reason = $2
    WHERE c.proxy_number = $1 AND c.status = 'open'
    RETURNING c.id, c.proxy_number, c.code, c.shape
)
SELECT c.id, c.proxy_number, c.code, c.shape, people.phones, people.names, people.roles
FROM closed c
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(p.phone ORDER BY cp.seq), '{}') AS phones,
           coalesce(array_agg(p.name ORDER BY cp.seq), '{}') AS names,
           coalesce(array_agg(cp.role ORDER BY cp.seq), '{}') AS roles
    FROM conversation_participants cp JOIN participants p ON p.id = cp.participant_id
    WHERE cp.conversation_id = c.id AND cp.left_at IS NULL
) people
