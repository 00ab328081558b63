-- An attachment fetched and within the limits, kept: $1 its id, $2 content type, $3 size, $4 SHA-256 (hex), $5 the
-- bytes. The carrier's URL is forgotten. Nothing when another process finished it first (its lease ran out).
UPDATE message_media
SET state = 'stored', content_type = $2, size = $3, sha256 = $4, content = $5, source_url = NULL, last_error = NULL,
    finished_at = now()
WHERE id = $1 AND state = 'pending'
RETURNING id
