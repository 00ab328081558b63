-- The community that owns a conversation, message or verification ($1 which, $2 its id), for a token limited
-- to some communities (gateway/api/scope.py). No row: no such conversation, message or verification; a row
-- with a null community: a message to a number that is nobody's.
SELECT community_id FROM conversations WHERE $1::text = 'conversation' AND id = $2
UNION ALL
SELECT community_id FROM messages WHERE $1::text = 'message' AND id = $2
UNION ALL
SELECT community_id FROM verifications WHERE $1::text = 'verification' AND id = $2
