INSERT INTO community_numbers (phone, community_id) VALUES ($1, $2)
