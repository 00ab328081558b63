-- Every merge field name the community's contacts have (of one preference, $2, and tag, $3, when given), sorted:
-- the CSV export's field columns.
SELECT coalesce(array_agg(DISTINCT k.field ORDER BY k.field), '{}')
FROM contacts c, jsonb_object_keys(c.fields) AS k (field)
WHERE c.community_id = $1 AND ($2::text IS NULL OR c.preference = $2) AND ($3::text IS NULL OR c.tags @> ARRAY[$3::text])
