-- Queue delivery $2 of community $1 again, now, with a fresh count of tries; the webhook-id and body stay the
-- same, so a receiver that had it already can tell. $3: whether a delivery to the gateway-wide URL may be
-- queued (not by a token limited to some communities). Returns the id, or no row for no such delivery.
UPDATE webhook_deliveries
SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE community_id = $1 AND id = $2 AND ($3::boolean OR target = 'community')
RETURNING id
