INSERT INTO allow_list (community_id, phone) VALUES ($1, $2) ON CONFLICT DO NOTHING
