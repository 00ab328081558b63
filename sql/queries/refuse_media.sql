-- An attachment not relayed: $1 its id, $2 state (refused: over the limits; failed: the carrier never gave it),
-- $3 why (message_media.refusal), $4 its content type and $5 size when known, $6 the last error. Nothing when
-- another process finished it first.
UPDATE message_media
SET state = $2, refusal = $3, content_type = $4, size = $5, last_error = $6, source_url = NULL, finished_at = now()
WHERE id = $1 AND state = 'pending'
RETURNING id
