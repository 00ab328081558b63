-- The first answer to an Idempotency-Key, replayed to every retry until the key expires.
UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5
WHERE caller = $1 AND key = $2 AND status IS NULL
