-- Deliveries that are due, taken for a minute so no other process posts them meanwhile.
UPDATE webhook_deliveries SET next_attempt_at = now() + interval '60 seconds', attempts = attempts + 1
WHERE id IN (
    SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
)
RETURNING id, url, event, payload::text AS payload, attempts
