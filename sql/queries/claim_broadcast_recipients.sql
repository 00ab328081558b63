-- A page of a running broadcast's pending recipients, locked until the caller's transaction commits: another
-- process skips them (SKIP LOCKED) and takes the next page, so no recipient is sent twice; a process that dies
-- mid-page leaves them pending for the next. With each, its contact's name and merge fields (none: a phone the
-- community has no contact for) and the preference that governs the broadcast's category.
-- $1 broadcast, $2 how many.
SELECT r.id, r.phone, ct.name, coalesce(ct.fields, '{}'::jsonb) AS fields,
       coalesce(CASE WHEN b.category = 'marketing' AND community_separates_marketing(b.community_id)
                     THEN ct.marketing_preference ELSE ct.preference END, 'unknown') AS preference
FROM broadcast_recipients r
JOIN broadcasts b ON b.id = r.broadcast_id
LEFT JOIN contacts ct ON ct.community_id = b.community_id AND ct.phone = r.phone
WHERE r.broadcast_id = $1 AND r.outcome = 'pending' AND b.state = 'running'
ORDER BY r.id
LIMIT $2
FOR UPDATE OF r SKIP LOCKED
