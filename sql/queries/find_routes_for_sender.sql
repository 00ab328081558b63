-- The open conversations a sender is in on a proxy number, seen from the sender's side: the sender's name and role,
-- and every other active participant (phone, name, role) in the order they joined; the team style and who took it.
SELECT c.id AS conversation_id, c.code, c.shape, me.name AS sender_name, mine.role AS sender_role, c.team_style,
       (SELECT phone FROM participants WHERE id = c.claimed_by) AS claimed_by,
       array_agg(o.phone ORDER BY theirs.seq) AS phones, array_agg(o.name ORDER BY theirs.seq) AS names,
       array_agg(theirs.role ORDER BY theirs.seq) AS roles
FROM participants me
JOIN conversation_participants mine ON mine.participant_id = me.id AND mine.left_at IS NULL
JOIN conversations c ON c.id = mine.conversation_id AND c.status = 'open' AND c.proxy_number = $1
JOIN conversation_participants theirs ON theirs.conversation_id = c.id AND theirs.left_at IS NULL
                                     AND theirs.participant_id <> me.id
JOIN participants o ON o.id = theirs.participant_id
WHERE me.phone = $2
GROUP BY c.id, c.code, c.shape, me.name, mine.role, c.team_style, c.claimed_by
