-- Move a template ($2 of community $1) along its review: to state $3 from one of the states $4, with the reviewer's
-- note ($5) and name ($6) when it is a review (approve, reject; null for a submission, which keeps the last review).
-- No row when there is no such template or it is in none of those states. An approval or a rejection is an event
-- (template.approved, template.rejected), where the community takes events.
WITH moved AS (
    UPDATE templates t
    SET state = $3,
        review_note = CASE WHEN $6::text IS NULL THEN t.review_note ELSE $5 END,
        reviewed_by = coalesce($6, t.reviewed_by),
        reviewed_at = CASE WHEN $6::text IS NULL THEN t.reviewed_at ELSE now() END,
        updated_at = now()
    WHERE t.community_id = $1 AND t.id = $2 AND t.state = ANY ($4::text[])
    RETURNING t.id, t.community_id, t.name, t.category, t.body, t.state, t.review_note, t.reviewed_by,
              t.reviewed_at, t.created_at, t.updated_at
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT m.community_id, t.url, t.target, e.type, event_body(e.type, jsonb_build_object(
               'community_id', m.community_id, 'template_id', m.id, 'name', m.name, 'category', m.category,
               'state', m.state, 'note', m.review_note, 'reviewed_by', m.reviewed_by))
    FROM moved m,
         LATERAL (SELECT CASE m.state WHEN 'approved' THEN 'template.approved' ELSE 'template.rejected' END) e (type),
         event_targets(m.community_id, e.type) t
    WHERE m.state IN ('approved', 'rejected')
)
SELECT * FROM moved
