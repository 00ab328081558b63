-- A page of communities, newest first (keyset on created_at, id; the columns of the community_rows view).
-- $1 the ids a token reaches (null: all), $2 mode, $3 created at or after, $4 created before, $5 $6 the cursor
-- (created_at, id of the last row of the page before), $7 how many.
SELECT c.*
FROM community_rows c
WHERE ($1::bigint[] IS NULL OR c.id = ANY($1::bigint[]))
  AND ($2::text IS NULL OR c.mode = $2::text)
  AND ($3::timestamptz IS NULL OR c.created_at >= $3::timestamptz)
  AND ($4::timestamptz IS NULL OR c.created_at < $4::timestamptz)
  AND ($5::timestamptz IS NULL OR (c.created_at, c.id) < ($5::timestamptz, $6::bigint))
ORDER BY c.created_at DESC, c.id DESC
LIMIT $7
