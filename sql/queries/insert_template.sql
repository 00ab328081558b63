-- A new draft template of a community; no row when the community has a template of that name already.
-- $1 community, $2 name, $3 category, $4 body.
INSERT INTO templates (community_id, name, category, body)
VALUES ($1, $2, $3, $4)
ON CONFLICT (community_id, name) DO NOTHING
RETURNING id, community_id, name, category, body, state, review_note, reviewed_by, reviewed_at, created_at, updated_at
