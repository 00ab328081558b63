-- A try that the carrier asked us to repeat later: back to queued, with the reason.
UPDATE messages SET status = 'queued', error_message = $2, updated_at = now()
WHERE id = $1 AND status = 'submitting'
