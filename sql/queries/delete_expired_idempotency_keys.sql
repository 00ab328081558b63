-- Forget answers past their 24 hours (server.idempotency_ttl), a batch at a time; returns how many.
WITH gone AS (
    DELETE FROM idempotency_keys
    WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)
    RETURNING 1
)
SELECT count(*) FROM gone
