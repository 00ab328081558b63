-- A picture a platform uploads (POST /v1/media), kept at once for its community ($1) until a message names it:
-- $2 content type, $3 size, $4 SHA-256 (hex), $5 the bytes.
INSERT INTO message_media (community_id, position, state, content_type, size, sha256, content, finished_at)
VALUES ($1, 1, 'stored', $2, $3, $4, $5, now())
RETURNING id, position, state, refusal, content_type, size, sha256
