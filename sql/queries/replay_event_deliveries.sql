-- Queue again, now, community $1's deliveries in status $2 created in [$3, $4) (null bound: open), of type
-- $5 (null: any), those to the gateway-wide URL too when $7 (not for a token limited to some communities): at
-- most $6 of them, the oldest first. Returns their ids.
UPDATE webhook_deliveries d
SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now(), url = coalesce((
    -- To where the community sends it now: its stored URL if still one of them, else the one that replaced it
    -- (a community that PATCHed event_url after its receiver answered 410 replays to the new URL).
    SELECT t.url FROM event_targets(d.community_id, d.event) t WHERE t.target = d.target
    ORDER BY t.url = d.url DESC, t.url LIMIT 1), d.url)
WHERE d.id IN (
    SELECT id FROM webhook_deliveries
    WHERE community_id = $1 AND status = $2 AND ($3::timestamptz IS NULL OR created_at >= $3)
      AND ($4::timestamptz IS NULL OR created_at < $4) AND ($5::text IS NULL OR event = $5)
      AND ($7::boolean OR target = 'community')
    ORDER BY id LIMIT $6 FOR UPDATE
)
RETURNING d.id
