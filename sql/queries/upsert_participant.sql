INSERT INTO participants (community_id, phone, name) VALUES ($1, $2, $3)
ON CONFLICT (community_id, phone) DO UPDATE SET name = excluded.name
RETURNING id
