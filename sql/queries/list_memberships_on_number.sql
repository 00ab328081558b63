-- The open conversations of several on proxy number $1 that the phone $2 is an active member of (STOP leaves them).
SELECT c.id
FROM conversations c
JOIN conversation_participants cp ON cp.conversation_id = c.id AND cp.left_at IS NULL AND cp.role = 'member'
JOIN participants p ON p.id = cp.participant_id
WHERE c.proxy_number = $1 AND c.status = 'open' AND c.shape <> 'pair' AND p.phone = $2
ORDER BY c.id
