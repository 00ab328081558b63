-- How many open conversations (any community) have a participant with this phone: such a phone cannot become
-- one of our numbers (a conversation start refuses it too, participant_is_proxy). $1 phone (E.164).
SELECT count(*) FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
WHERE c.status = 'open' AND (p.phone = $1 OR a.phone = $1)
