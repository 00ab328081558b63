SELECT id, community_id, phone, code_hash, status, attempts, expires_at <= now() AS is_expired
FROM verifications WHERE id = $1 FOR UPDATE
