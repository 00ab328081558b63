-- The participant with phone $2 in community $1, added with name $3 if new; a known one keeps their name (a
-- stranger's text names nobody: the masked number is only a placeholder). Its id and name. DO UPDATE (to the same
-- name) rather than DO NOTHING: it returns the row even when another transaction added it a moment ago.
INSERT INTO participants (community_id, phone, name) VALUES ($1, $2, $3)
ON CONFLICT (community_id, phone) DO UPDATE SET name = participants.name
RETURNING id, name
