-- The participant with phone $2 in community $1, added with name $3 if new; a known one keeps their name (a
-- stranger's text names nobody: the masked number is only a placeholder). Its id and name.
WITH added AS (
    INSERT INTO participants (community_id, phone, name) VALUES ($1, $2, $3)
    ON CONFLICT (community_id, phone) DO NOTHING
    RETURNING id, name
)
SELECT id, name FROM added
UNION ALL
SELECT id, name FROM participants WHERE community_id = $1 AND phone = $2 AND NOT EXISTS (SELECT 1 FROM added)
