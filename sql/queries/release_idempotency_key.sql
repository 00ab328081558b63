-- A request that got no answer worth keeping (our failure, or 429: retry later): its key may be used again.
DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND status IS NULL
