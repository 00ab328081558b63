-- The uploads a message the platform sends names ($3, ids in order) become its pictures: each must be its
-- community's ($2) and named by no message yet. $1 the message, which carries them (media_from = itself).
-- Returns how many were attached and their bytes together: fewer than named means some were not the caller's to
-- use, more bytes than media.max_message_bytes a message too large (either way the caller rolls back).
WITH attached AS (
    UPDATE message_media SET message_id = $1, position = array_position($3::bigint[], id)
    WHERE id = ANY($3::bigint[]) AND community_id = $2 AND message_id IS NULL AND state = 'stored'
    RETURNING id, size
), carried AS (
    UPDATE messages SET media_from = $1 WHERE id = $1 AND EXISTS (SELECT 1 FROM attached)
)
SELECT count(*) AS attached, coalesce(sum(size), 0)::bigint AS bytes FROM attached
