-- A community's contacts, optionally of one preference ($2 null for all) and with one tag ($5 null for any), a page
-- at a time by phone: after $3, at most $4.
SELECT phone, preference, preference_changed_at, preference_keyword, preference_source, dnd, dnd_reason, dnd_at,
       first_inbound_at, marketing_preference, name, fields, tags, created_at, updated_at
FROM contacts
WHERE community_id = $1 AND ($2::text IS NULL OR preference = $2) AND ($5::text IS NULL OR tags @> ARRAY[$5::text])
  AND phone > $3
ORDER BY phone
LIMIT $4
