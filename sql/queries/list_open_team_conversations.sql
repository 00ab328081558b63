-- The open conversations of team $1's inbox that phone $2 is an active member of (a member leaving the team
-- leaves them), oldest first.
SELECT c.id
FROM conversations c
JOIN conversation_participants cp ON cp.conversation_id = c.id AND cp.left_at IS NULL AND cp.role = 'member'
JOIN participants p ON p.id = cp.participant_id
WHERE c.team_id = $1 AND c.status = 'open' AND p.phone = $2
ORDER BY c.id
