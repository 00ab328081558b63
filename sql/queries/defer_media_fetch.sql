-- A fetch that failed and may work later (a 404 before the carrier has it, a 5xx, a timeout): $1 the attachment,
-- tried again in $2 seconds; $3 the error (never the URL).
UPDATE message_media SET due_at = now() + make_interval(secs => $2), last_error = $3
WHERE id = $1 AND state = 'pending'
