-- The audit row of an erasure: its counts (jsonb), who asked (the token's name) and the phone's keyed hash.
INSERT INTO erasures (community_id, phone_hash, requested_by, counts)
VALUES ($1, $2, $3, $4)
RETURNING id, community_id, requested_by, counts, created_at
