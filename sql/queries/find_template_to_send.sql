-- A community's template, for a triggered send or a broadcast (which only an approved one may make).
-- $1 community, $2 template.
SELECT id, name, category, body, state FROM templates WHERE community_id = $1 AND id = $2
