-- Claim an Idempotency-Key for a request about to run: a new key, one whose answer has expired, or one whose
-- first request's lease ran out without an answer (its process died mid-request). $1 caller (token name),
-- $2 key, $3 request hash, $4 seconds the answer is kept, $5 seconds the claim holds. A row back: claimed.
INSERT INTO idempotency_keys (caller, key, request_hash, lease_until, expires_at)
VALUES ($1, $2, $3, now() + make_interval(secs => $5), now() + make_interval(secs => $4))
ON CONFLICT (caller, key) DO UPDATE
SET request_hash = EXCLUDED.request_hash, status = NULL, content_type = NULL, body = NULL,
    lease_until = EXCLUDED.lease_until, created_at = now(), expires_at = EXCLUDED.expires_at
WHERE idempotency_keys.expires_at <= now()
   OR (idempotency_keys.status IS NULL AND idempotency_keys.lease_until <= now()
       AND idempotency_keys.request_hash = EXCLUDED.request_hash)
RETURNING true AS claimed
