-- How many open conversations (any community) have an active participant with this phone: such a phone cannot
-- become one of our numbers (a conversation start refuses it too, participant_is_proxy). $1 phone (E.164).
SELECT count(*) FROM conversations c
JOIN conversation_participants cp ON cp.conversation_id = c.id AND cp.left_at IS NULL
JOIN participants p ON p.id = cp.participant_id
WHERE c.status = 'open' AND p.phone = $1
