-- $1 the number, $2 its community, $3 its carrier (null: the gateway's default carrier).
INSERT INTO community_numbers (phone, community_id, carrier) VALUES ($1, $2, $3)
