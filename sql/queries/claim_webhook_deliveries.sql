-- Deliveries that are due, taken for $3 seconds (longer than a batch of posts can take) so no other process
-- posts them meanwhile; each claim is a try. Never past $2 tries: a delivery whose last try was taken by a
-- process that died before recording it is given up (give_up_webhook_deliveries), not tried once more.
UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $3), attempts = attempts + 1,
    updated_at = now()
WHERE id IN (
    SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now() AND attempts < $2
    ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
)
RETURNING id, community_id, webhook_id, target, url, event, payload::text AS payload, attempts
