INSERT INTO verified_phones (community_id, phone) VALUES ($1, $2)
ON CONFLICT (community_id, phone) DO UPDATE SET verified_at = now()
