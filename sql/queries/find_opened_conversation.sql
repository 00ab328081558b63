-- The newest open conversation of community $1 with phone $2 as an active participant (of any shape), opened at or
-- after $3: the one the platform opened for an out-of-session text received then.
SELECT c.id
FROM conversations c
JOIN conversation_participants cp ON cp.conversation_id = c.id AND cp.left_at IS NULL
JOIN participants p ON p.id = cp.participant_id
WHERE c.community_id = $1 AND c.status = 'open' AND c.created_at >= $3 AND p.phone = $2
ORDER BY c.id DESC
LIMIT 1
