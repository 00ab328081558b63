-- A community's held messages of one reason, oldest first, a page at a time.
SELECT id, conversation_id, community_id, direction, kind, priority, status, status_reason, carrier_sid, error_code,
       error_message, attempts, body, segments, from_number, to_number, media_urls, created_at, updated_at,
       release_at
FROM messages
WHERE community_id = $1 AND waiting = 'held' AND status_reason = $2 AND id > $3
ORDER BY id LIMIT $4
