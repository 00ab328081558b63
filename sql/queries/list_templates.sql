-- A community's templates ($1), of one state ($2 null: all), by id after $3, at most $4.
SELECT id, community_id, name, category, body, state, review_note, reviewed_by, reviewed_at, created_at, updated_at
FROM templates
WHERE community_id = $1 AND ($2::text IS NULL OR state = $2) AND id > $3
ORDER BY id
LIMIT $4
