INSERT INTO webhook_deliveries (community_id, url, event, payload) VALUES ($1, $2, $3, $4::jsonb)
