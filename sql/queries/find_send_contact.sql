-- What a triggered send to a phone needs of its contact: name and merge fields (none without a contact) and the
-- preference that governs a send of the category (contact_preference_for: unknown without a contact).
-- $1 community, $2 phone, $3 category.
SELECT ct.name, coalesce(ct.fields, '{}'::jsonb) AS fields, contact_preference_for($1, $2, $3) AS preference
FROM (VALUES (1)) one
LEFT JOIN contacts ct ON ct.community_id = $1 AND ct.phone = $2
