-- A community's erasures, newest first, a page at a time (before $2: an id; null for the first page), optionally
-- only those of one phone's keyed hash ($3).
SELECT id, community_id, requested_by, counts, created_at
FROM erasures
WHERE community_id = $1 AND ($2::bigint IS NULL OR id < $2) AND ($3::bytea IS NULL OR phone_hash = $3)
ORDER BY id DESC
LIMIT $4
