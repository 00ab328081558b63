-- The newest open conversation of community $1 with phone $2 as a participant, opened at or after $3: the one
-- the platform opened for an out-of-session text received then.
SELECT c.id
FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
WHERE c.community_id = $1 AND c.status = 'open' AND c.created_at >= $3 AND $2 IN (p.phone, a.phone)
ORDER BY c.id DESC
LIMIT 1
