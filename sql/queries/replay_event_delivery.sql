-- Queue delivery $2 of community $1 again, now, with a fresh count of tries; the webhook-id and body stay the
-- same, so a receiver that had it already can tell. $3: whether a delivery to the gateway-wide URL may be
-- queued (not by a token limited to some communities). Returns the id, or no row for no such delivery.
UPDATE webhook_deliveries d
SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now(), url = coalesce((
    -- To where the community sends it now: its stored URL if still one of them, else the one that replaced it
    -- (a community that PATCHed event_url after its receiver answered 410 replays to the new URL).
    SELECT t.url FROM event_targets(d.community_id, d.event) t WHERE t.target = d.target
    ORDER BY t.url = d.url DESC, t.url LIMIT 1), d.url)
WHERE d.community_id = $1 AND d.id = $2 AND ($3::boolean OR d.target = 'community')
RETURNING d.id
