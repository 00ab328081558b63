-- How many open conversations a participant is in on a number (codes are shown when it is more than one).
SELECT count(*) FROM conversations c
JOIN conversation_participants cp ON cp.conversation_id = c.id AND cp.left_at IS NULL
JOIN participants p ON p.id = cp.participant_id
WHERE c.proxy_number = $1 AND c.status = 'open' AND p.phone = $2
