-- Queue delivery $2 of community $1 again, now, with a fresh count of tries; the webhook-id and body stay the
-- same, so a receiver that had it already can tell. Returns the id, or no row for no such delivery.
UPDATE webhook_deliveries
SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE community_id = $1 AND id = $2
RETURNING id
