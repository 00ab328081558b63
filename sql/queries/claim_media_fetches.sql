-- Attachments due for a fetch (gateway/media/fetching.py), at most $1, each counted as a try and kept from other
-- processes for $2 seconds: its due_at moves past the fetch's time, so one whose process was killed mid-fetch is
-- claimed again once that passes. With the carrier of the number the text came to (null: the gateway's default),
-- and the channel it came on (whose limits it is checked against).
WITH due AS (
    SELECT id FROM message_media WHERE state = 'pending' AND due_at <= now()
    ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED
)
UPDATE message_media mm SET attempts = mm.attempts + 1, due_at = now() + make_interval(secs => $2)
FROM due, messages m LEFT JOIN community_numbers n ON n.phone = m.to_number
WHERE mm.id = due.id AND m.id = mm.message_id
RETURNING mm.id, mm.message_id, mm.position, mm.source_url, mm.attempts, n.carrier, mm.channel
