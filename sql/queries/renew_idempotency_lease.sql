-- A request still running keeps its claim: its lease is pushed on, so a retry may take over only after the
-- process running it died. $1 caller, $2 key, $3 seconds the claim holds from now.
UPDATE idempotency_keys SET lease_until = now() + make_interval(secs => $3)
WHERE caller = $1 AND key = $2 AND status IS NULL
