-- $1 id, $2 status (delivered, pending, failed), $3 seconds until the next try, $4 the error (null: none this
-- try; the last one is kept, for the delivery log), $5 the claim's claimed_until: nothing when the delivery was
-- replayed (and maybe claimed again) since, so the newer try's outcome stands.
UPDATE webhook_deliveries
SET status = $2, next_attempt_at = now() + make_interval(secs => $3), last_error = coalesce($4, last_error), updated_at = now()
WHERE id = $1 AND next_attempt_at = $5
