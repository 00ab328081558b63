-- Change a template's name ($3), category ($4) or body ($5), each null to keep it. A change of what is sent (the
-- body or the category) takes it back to draft: it is reviewed again (the last review's note, reviewer and time
-- stay, as the record). No row when there is no such template. A name another template has: unique violation.
UPDATE templates t
SET name = coalesce($3, t.name),
    category = coalesce($4, t.category),
    body = coalesce($5, t.body),
    state = CASE WHEN coalesce($4, t.category) <> t.category OR coalesce($5, t.body) <> t.body THEN 'draft'
                 ELSE t.state END,
    updated_at = now()
WHERE t.community_id = $1 AND t.id = $2
RETURNING t.id, t.community_id, t.name, t.category, t.body, t.state, t.review_note, t.reviewed_by, t.reviewed_at,
          t.created_at, t.updated_at
