-- Move a template ($2 of community $1) along its review: to state $3 from one of the states $4, with the reviewer's
-- note ($5) and name ($6) when it is a review (approve, reject; null for a submission, which keeps the last review).
-- No row when there is no such template or it is in none of those states.
UPDATE templates t
SET state = $3,
    review_note = CASE WHEN $6::text IS NULL THEN t.review_note ELSE $5 END,
    reviewed_by = coalesce($6, t.reviewed_by),
    reviewed_at = CASE WHEN $6::text IS NULL THEN t.reviewed_at ELSE now() END,
    updated_at = now()
WHERE t.community_id = $1 AND t.id = $2 AND t.state = ANY ($4::text[])
RETURNING t.id, t.community_id, t.name, t.category, t.body, t.state, t.review_note, t.reviewed_by, t.reviewed_at,
          t.created_at, t.updated_at
