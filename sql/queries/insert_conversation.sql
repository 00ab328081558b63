INSERT INTO conversations (community_id, proxy_number, prospect_id, advocate_id, code)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
