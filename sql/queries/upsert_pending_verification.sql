-- A new code for (community, phone): a pending verification gets the new code (the old one stops working).
-- $1 community, $2 phone, $3 code hash, $4 minutes valid.
INSERT INTO verifications (community_id, phone, code_hash, expires_at)
VALUES ($1, $2, $3, now() + make_interval(mins => $4))
ON CONFLICT (community_id, phone) WHERE status = 'pending'
DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0, updated_at = now()
RETURNING id
