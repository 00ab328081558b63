-- A community's contacts, optionally of one preference ($2 null for all), a page at a time by phone.
SELECT phone, preference, preference_changed_at, preference_keyword, preference_source, dnd, dnd_reason, dnd_at,
       first_inbound_at, marketing_preference
FROM contacts
WHERE community_id = $1 AND ($2::text IS NULL OR preference = $2) AND phone > $3
ORDER BY phone
LIMIT $4
