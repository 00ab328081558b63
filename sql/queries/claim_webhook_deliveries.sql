-- Deliveries that are due, taken for $3 seconds (longer than a post can take, and its record) so no other process
-- posts them meanwhile; each claim is a try. Never past $2 tries: a delivery whose last try was taken by a
-- process that died before recording it is given up (give_up_webhook_deliveries), not tried once more.
-- With the community's event secret version, and sign_previous while its last rotation is under $4 seconds old.
-- claimed_until (the claim's next_attempt_at) is the claim's token: finish_webhook_delivery records the try's
-- outcome only while it is unchanged, so a replay during the try is not undone by that try's late answer.
UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $3), attempts = d.attempts + 1,
    updated_at = now()
FROM communities c
WHERE c.id = d.community_id AND d.id IN (
    SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now() AND attempts < $2
    ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
)
RETURNING d.id, d.community_id, d.webhook_id, d.target, d.url, d.event, d.payload::text AS payload, d.attempts,
          d.next_attempt_at AS claimed_until,
          c.event_secret_version AS secret_version,
          coalesce(c.event_secret_rotated_at + make_interval(secs => $4) > now(), false) AS sign_previous
