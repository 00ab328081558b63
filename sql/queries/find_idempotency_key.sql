-- What an Idempotency-Key holds: the first request's hash, and its answer (null status: still in flight).
SELECT request_hash, status, content_type, body FROM idempotency_keys
WHERE caller = $1 AND key = $2 AND expires_at > now()
