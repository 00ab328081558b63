-- One template of a community ($1), by id ($2).
SELECT id, community_id, name, category, body, state, review_note, reviewed_by, reviewed_at, created_at, updated_at
FROM templates
WHERE community_id = $1 AND id = $2
