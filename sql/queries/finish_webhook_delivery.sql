-- $1 id, $2 status (delivered, pending, failed), $3 seconds until the next try, $4 the error.
UPDATE webhook_deliveries
SET status = $2, next_attempt_at = now() + make_interval(secs => $3), last_error = $4, updated_at = now()
WHERE id = $1
