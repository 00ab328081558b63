-- $1 id, $2 status, $3 attempts.
UPDATE verifications SET status = $2, attempts = $3, updated_at = now() WHERE id = $1
